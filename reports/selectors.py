"""Reads of attestations: the current answer per item, and the full history (kept: it is evidence)."""

from django.db.models import QuerySet

from reports.models import Attestation


def attestation_history(*, version, framework: str | None = None, item_id: str | None = None) -> QuerySet:
    rows = Attestation.objects.filter(version=version).select_related("version__model", "answered_by")
    if framework:
        rows = rows.filter(framework=framework)
    if item_id:
        rows = rows.filter(item_id=item_id)
    return rows.order_by("-answered_at", "-id")


def attestations_current(*, version, framework: str | None = None) -> QuerySet:
    """The answers not superseded; an expired one is still current (it shows when the item lapsed)."""
    return attestation_history(version=version, framework=framework).filter(superseded_at__isnull=True)


def attestation_current(*, version, framework: str, item_id: str) -> Attestation | None:
    return attestations_current(version=version, framework=framework).filter(item_id=item_id).first()

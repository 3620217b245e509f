"""Reads of attestations: the current answer per item, and the full history (kept: it is evidence).

A statement is read from the officer's personal record beside the trail; once the officer has been
erased it is gone, and every reader shows ERASED in its place (answer, item, time and digest remain)."""

from django.db.models import OuterRef, QuerySet, Subquery

from audits.models import PersonalRecord
from reports.models import Attestation

ERASED = "[erased]"


def attestations_with_statements(rows: QuerySet) -> QuerySet:
    """Annotates each row with statement_text: its statement, or None once its author was erased."""
    text = PersonalRecord.objects.filter(digest=OuterRef("statement_digest")).values("text")[:1]
    return rows.annotate(statement_text=Subquery(text))


def attestation_statement(attestation: Attestation) -> str | None:
    """The statement of one answer, or None when it was erased with its author."""
    if hasattr(attestation, "statement_text"):
        return attestation.statement_text
    return PersonalRecord.objects.filter(digest=attestation.statement_digest).values_list("text", flat=True).first()


def statement_shown(text: str | None) -> str:
    return ERASED if text is None else text


def attestation_history(*, version, framework: str | None = None, item_id: str | None = None) -> QuerySet:
    rows = Attestation.objects.filter(version=version).select_related("version__model", "answered_by")
    if framework:
        rows = rows.filter(framework=framework)
    if item_id:
        rows = rows.filter(item_id=item_id)
    return attestations_with_statements(rows).order_by("-answered_at", "-id")


def attestations_current(*, version, framework: str | None = None) -> QuerySet:
    """The answers not superseded; an expired one is still current (it shows when the item lapsed)."""
    return attestation_history(version=version, framework=framework).filter(superseded_at__isnull=True)


def attestation_current(*, version, framework: str, item_id: str) -> Attestation | None:
    return attestations_current(version=version, framework=framework).filter(item_id=item_id).first()


# What a card's document control records that a later decision or stage change makes untrue.
_TRACKED = (
    ("status", "the card says the approval is {then}; it is now {now}"),
    ("stage", "the card says the version is in {then}; it is now in {now}"),
    ("approved_at", "the card records the approval of {then}; the approval in force is now of {now}"),
    ("approval_expires_at", "the card says the approval expires {then}; it now expires {now}"),
)


def report_stale_reasons(report) -> list[str]:
    """Why a rendered card no longer tells the version's state (empty when it still does, or was never
    rendered): its document control against the same facts read now."""
    from reports.card import document_control

    recorded = (report.inputs or {}).get("document_control")
    if not recorded:
        return []
    current = document_control(report.version, None)
    return [
        words.format(then=recorded.get(key) or "none", now=current.get(key) or "none")
        for key, words in _TRACKED
        if recorded.get(key) != current.get(key)
    ]

"""Reads for the admin's home page of officers and auditors: what waits, what expires, what drifted, what failed.

Each panel is one bounded query, whatever the number of rows, so the page costs the same on a busy registry.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import CharField, Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from approvals.selectors import approval_requests_awaiting
from audits.models import AuditEvent
from core import roles
from core.permissions import reads_everything
from evidence.models import EvidenceJob
from registry.models import ApprovalDecision, ApprovalRequest, ModelVersion, RiskTier, Stage

EXPIRY_HORIZON = timedelta(days=30)
FAILED_JOBS_WINDOW = timedelta(days=30)
PANEL_ROWS = 10


@dataclass(frozen=True)
class Dashboard:
    waiting: list[ApprovalRequest] | None  # None: not an officer, so nothing can wait for this person
    expiring: list[ApprovalRequest]
    under_review: list[ModelVersion]
    production_by_tier: list[tuple[str, int]]
    failed_jobs: list[EvidenceJob]


def dashboard_for(user, *, now: datetime | None = None) -> Dashboard | None:
    """The panels this person sees above the app list; None for whoever does not read everything."""
    if not reads_everything(user):
        return None
    now = now or timezone.now()
    return Dashboard(
        waiting=requests_waiting(user) if roles.has_role(user, roles.COMPLIANCE_OFFICER) else None,
        expiring=approvals_expiring(now=now),
        under_review=versions_under_review(),
        production_by_tier=production_by_tier(),
        failed_jobs=evidence_jobs_failed(now=now),
    )


def requests_waiting(user) -> list[ApprovalRequest]:
    """Oldest first, each with `approvals` counted and `approvals_required` from the policy it was made under."""
    approve = Q(decisions__verdict=ApprovalDecision.Verdict.APPROVE)
    requests = list(
        approval_requests_awaiting(user)
        .select_related("version__model")
        .annotate(approvals=Count("decisions", filter=approve))
        .order_by("created_at")
    )
    for request in requests:
        request.approvals_required = request.policy["approvals_required"]
    return requests


def approvals_expiring(*, now: datetime) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.APPROVED, expires_at__gt=now, expires_at__lte=now + EXPIRY_HORIZON
        )
        .select_related("version__model")
        .order_by("expires_at")
    )


def versions_under_review() -> list[ModelVersion]:
    """Versions marked for review, each with `drift_alert_at`: when the trail last raised a drift alert (of a
    drift check or of production monitoring) on it."""
    ref = Concat(Value(f"{ModelVersion._meta.label_lower}:"), Cast(OuterRef("pk"), CharField()))
    actions = ["drift.alert", "monitoring.alert"]
    alerts = AuditEvent.objects.filter(action__in=actions, object_ref=ref).order_by("-seq").values("ts")[:1]
    return list(
        ModelVersion.objects.filter(review_required=True)
        .select_related("model")
        .annotate(drift_alert_at=Subquery(alerts))
        .order_by("model__name", "version")
    )


def production_by_tier() -> list[tuple[str, int]]:
    counts = dict(
        ModelVersion.objects.filter(stage=Stage.PRODUCTION)
        .values_list("model__risk_tier")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [(tier, counts.get(tier, 0)) for tier in RiskTier.values]


def evidence_jobs_failed(*, now: datetime) -> list[EvidenceJob]:
    """The latest failures of the past 30 days, at most ten."""
    return list(
        EvidenceJob.objects.filter(status=EvidenceJob.Status.FAILED, created_at__gte=now - FAILED_JOBS_WINDOW)
        .select_related("version__model")
        .order_by("-created_at")[:PANEL_ROWS]
    )

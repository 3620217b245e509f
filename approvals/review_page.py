"""The review page of an approval request, as the admin shows it: its status panel (approvals.review), the
evidence folded below it, the checklists, the waivers, and the links to the trail and the model cards."""

from datetime import date, datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from approvals import waivers
from approvals.requirements import SATISFIED
from approvals.review import review_status
from approvals.selectors import approval_request_state, approval_requests_awaiting
from audits.models import AuditEvent
from audits.services import object_ref
from core import roles
from core.errors import DomainError
from evidence.admin import findings_context
from evidence.models import EvidenceJob
from monitoring.models import ProductionWindow
from registry.models import ApprovalRequest, EvidenceWaiver
from registry.selectors import waiver_discounted
from reports.checklists import checklist_summary, checklists_evaluate
from reports.models import Attestation, Report
from reports.selectors import attestations_current


def _admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _evidence_shown(item: dict) -> dict:
    """One evidence requirement; a job-backed one carries its job's findings and charts, as the evidence job
    page shows them."""
    job_id = item["digests"].get("job")
    job = EvidenceJob.objects.filter(pk=job_id).first() if job_id else None
    # What blocks is unfolded; what is met waits folded under its one-line verdict.
    shown = {**item, "job": job, "findings": None, "unfolded": item["status"] not in SATISFIED}
    if job is not None:
        shown["job_url"] = _admin_url(EvidenceJob, "change", job.pk)
        shown["findings"] = findings_context(job)
    return shown


def attest_key(framework: str, item_id: str) -> str:
    return f"{framework}:{item_id}"


ITEM_ORDER = {"failed": 0, "open": 1, "passed": 2, "not_applicable": 3}


def _checklists_shown(version) -> list[dict]:
    """Every item, what blocks first, each with its text and (for a person's item) who answered it."""
    attested = {(a.framework, a.item_id): a for a in attestations_current(version=version)}
    return [
        {
            "framework": framework,
            "summary": checklist_summary(results),
            "unfolded": any(r.status == "failed" for r in results),
            "items": [
                {
                    "result": r,
                    "attest_key": attest_key(framework, r.item_id) if _attestable(r) else None,
                    "attestation": attested.get((framework, r.item_id)) if r.decided_by == "human" else None,
                }
                for r in sorted(results, key=lambda r: ITEM_ORDER.get(r.status, 9))
            ],
        }
        for framework, results in checklists_evaluate(version).items()
    ]


def _attestable(result) -> bool:
    """An item only a person decides, not answered yet (or no longer: withdrawn, expired)."""
    return result.decided_by == "human" and result.status == "open"


def _waivers_shown(version) -> list[dict]:
    now = timezone.now()
    return [
        {
            "waiver": waiver,
            "state": waiver.state(now),
            "not_counted": waiver_discounted(waiver),
            "url": _admin_url(EvidenceWaiver, "change", waiver.pk),
        }
        for waiver in version.waivers.select_related("granted_by").order_by("-created_at")
    ]


def _attest_choices(checklists: list[dict]) -> list[dict]:
    return [
        {"key": entry["attest_key"], "label": f"{entry['result'].item_id}: {entry['result'].requirement}"}
        for checklist in checklists
        for entry in checklist["items"]
        if entry["attest_key"]
    ]


def trigger_links(obj: ApprovalRequest) -> list[tuple[str, str]]:
    """What opened a re-review, as links: the window (and its version's timeline) or the drift check job."""
    label, _, pk = obj.trigger_ref.partition(":")
    if label == "monitoring.productionwindow" and pk.isdigit():
        return [
            (f"production window {pk}", _admin_url(ProductionWindow, "change", int(pk))),
            ("the version's monitoring timeline", reverse("admin:monitoring_timeline", args=[obj.version_id])),
        ]
    if label == EvidenceJob.trail_label and pk.isdigit():
        return [(f"drift check job {pk}", _admin_url(EvidenceJob, "change", int(pk)))]
    return []


def _waive_forms(obj: ApprovalRequest, status: dict, user) -> list[dict]:
    """A pre-filled waiver per blocker that this reader may waive now, with the longest expiry allowed."""
    if not roles.has_role(user, roles.COMPLIANCE_OFFICER):
        return []
    wanted = [b.requirement for b in status["blockers"] if b.action == "waive"]
    return [
        {"requirement": name, "limit": waivers.waiver_expiry_limit(obj.version), "min": waivers.MIN_JUSTIFICATION}
        for name in wanted
        if not waivers.waiver_may_grant(version=obj.version, requirement=name, user=user)
    ]


def review_context(obj: ApprovalRequest, user) -> dict:
    """What the review page shows beside the request's fields: the decision's context, its evidence, the
    checklists, where its trail and model cards are, and whether this person may decide it here."""
    version, policy = obj.version, obj.policy
    state = approval_request_state(obj)
    reports = Report.objects.filter(version=version).order_by("-created_at", "-id")
    checklists = _checklists_shown(version)
    is_officer = roles.has_role(user, roles.COMPLIANCE_OFFICER)
    status = review_status(obj, user)
    return {
        "status": status,
        "trigger_links": trigger_links(obj),
        "waive_forms": _waive_forms(obj, status, user),
        "waive_url": _admin_url(ApprovalRequest, "waive", obj.pk),
        "run_url": _admin_url(ApprovalRequest, "run_evidence", obj.pk),
        "may_run": bool(status["runnable"]) and is_officer,
        "version": version,
        "lineage": sorted(version.lineage.items()) if isinstance(version.lineage, dict) else [],
        "policy_rows": [
            ("approvals required", policy.get("approvals_required")),
            ("officer approvals required", policy.get("officer_approvals_required")),
            ("evidence required", ", ".join(e["requirement"] for e in state["evidence"]) or "none"),
            ("validity", f"{policy.get('validity_days')} days"),
        ],
        "state": state,
        "evidence": [_evidence_shown(item) for item in state["evidence"]],
        "checklists": checklists,
        "waivers": _waivers_shown(version),
        "waivers_url": f"{_admin_url(EvidenceWaiver, 'changelist')}?{urlencode({'version__id__exact': version.pk})}",
        "attest_choices": _attest_choices(checklists) if is_officer and user.pk != version.submitted_by_id else [],
        "attest_answers": Attestation.Answer.choices,
        "attest_url": _admin_url(ApprovalRequest, "attest", obj.pk),
        "audit_url": f"{_admin_url(AuditEvent, 'changelist')}?{urlencode({'object_ref': object_ref(obj)})}",
        "reports_url": f"{_admin_url(Report, 'changelist')}?{urlencode({'version__id__exact': version.pk})}",
        "reports": [
            {"report": r, "pdf_url": reverse("admin:reports_report_pdf", args=[r.pk])}
            for r in reports
            if r.status == Report.Status.SUCCEEDED
        ],
        "is_officer": is_officer,
        "may_decide": approval_requests_awaiting(user).filter(pk=obj.pk).exists(),
        "decide_url": _admin_url(ApprovalRequest, "decide", obj.pk),
    }


def _waiver_expiry(value: str, version):
    """The date picked on the page, at the time of day the policy's limit falls on; blank: the longest allowed."""
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise DomainError("invalid", "expires_on: not a date (YYYY-MM-DD).") from None
    limit = waivers.waiver_expiry_limit(version)
    return datetime.combine(day, limit.timetz())

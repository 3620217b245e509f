"""Gathers the facts a checklist is decided on, for one model version, as the plain dict reports/checks.py
reads: registry rows, stored bytes re-hashed, evidence jobs, waivers, the verified audit trail, attestations."""

from django.conf import settings
from django.utils import timezone

from audits.models import AuditEvent, Checkpoint
from audits.selectors import audit_trail_verify, event_record
from audits.services import actor_for, object_ref
from core.blobs import blob_path
from evidence.models import EvidenceJob
from evidence.selectors import evidence_jobs_current
from mlio.artifacts import sha256_file
from monitoring.selectors import drift_windows_judged
from registry.models import ApprovalPolicy, ModelVersion
from registry.policies import policy_days, policy_thresholds
from registry.selectors import active_waiver
from reports.selectors import attestations_current

JOB_KINDS = ("explanation", "bias_audit", "drift_check")
JOBS_PER_KIND = 20


def version_facts(version: ModelVersion, *, now=None) -> dict:
    now = now or timezone.now()
    return {
        "now": now,
        "model": {"name": version.model.name, "intended_use": version.model.intended_use},
        "version": _version(version),
        "artifact": _artifact(version),
        "dataset": _dataset(version.evaluation_dataset),
        "policy": _policy(version),
        "jobs": {kind: _jobs(version, kind) for kind in JOB_KINDS},
        "drift_windows": _drift_windows(version),
        "waivers": {"bias_audit": _waiver(version, now)},
        "trail": trail_facts(version),
        "attestations": _attestations(version),
    }


def _version(version: ModelVersion) -> dict:
    return {
        "id": version.pk,
        "version": version.version,
        "stage": version.stage,
        "description": version.description,
        "metrics": dict(version.metrics or {}),
        "lineage": dict(version.lineage or {}),
        "known_limitations": version.known_limitations,
    }


def _stored_sha256(root, sha256: str) -> str | None:
    path = blob_path(root, sha256)
    return sha256_file(path) if path.is_file() else None


def _artifact(version: ModelVersion) -> dict | None:
    if version.artifact is None:
        return None
    sha = version.artifact.sha256
    return {"sha256": sha, "stored_sha256": _stored_sha256(settings.ARTIFACT_ROOT, sha)}


def _dataset(dataset) -> dict | None:
    if dataset is None:
        return None
    return {
        "id": dataset.pk,
        "sha256": dataset.sha256,
        "stored_sha256": _stored_sha256(settings.DATASET_ROOT, dataset.sha256),
        "features": list(dataset.schema.get("features") or []),
        "sensitive_features": list(dataset.schema.get("sensitive_features") or []),
        "target": dataset.schema.get("target"),
    }


def _policy(version: ModelVersion) -> dict:
    policy = ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier)
    return {
        "evidence_max_age_days": policy_days(policy, "evidence_max_age_days").days,
        **policy_thresholds(policy),
    }


def _jobs(version: ModelVersion, kind: str) -> list[dict]:
    return [_job(job) for job in evidence_jobs_current(version, kind)[:JOBS_PER_KIND]]


def _job(job: EvidenceJob) -> dict:
    result = job.result or {}
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "verdict": job.verdict,
        "result_sha256": job.result_sha256,
        "finished_at": job.finished_at,
        "error": job.error,
        "thresholds": _thresholds(result),
        "rows_explained": result.get("rows_explained", 0),
        "drifted_features": list(result.get("drifted_features") or []),
    }


def _drift_windows(version: ModelVersion) -> list[dict]:
    return [
        {
            "id": window.pk,
            "window_start": window.window_start,
            "window_end": window.window_end,
            "finished_at": window.finished_at,
            "result_sha256": window.result_sha256,
            **reading,
        }
        for window, reading in drift_windows_judged(version)
    ]


def _thresholds(result: dict) -> dict | None:
    """The limits the audit was actually judged against, as its result records them."""
    limits = result.get("thresholds")
    if not limits:
        return None
    return {name: limits[name]["value"] for name in ("min_selection_rate_ratio", "max_equalized_odds_difference")}


def _waiver(version: ModelVersion, now) -> dict | None:
    waiver = active_waiver(version, "bias_audit", now=now)
    if waiver is None:
        return None
    return {"id": waiver.pk, "granted_by": f"user:{waiver.granted_by_id}", "expires_at": waiver.expires_at}


def _attestations(version: ModelVersion) -> dict:
    found: dict[str, dict] = {}
    for row in attestations_current(version=version):
        found.setdefault(row.framework, {})[row.item_id] = {
            "id": row.pk,
            "answer": row.answer,
            "statement_sha256": row.statement_digest,  # salted: the text itself is personal data
            "answered_by": actor_for(row.answered_by),
            "answered_at": row.answered_at,
            "expires_at": row.expires_at,
        }
    return found


def trail_facts(version: ModelVersion) -> dict:
    verified = audit_trail_verify()
    expected = expected_events(version)
    refs = {want["object_ref"] for want in expected}
    events = AuditEvent.objects.filter(object_ref__in=refs).order_by("seq")
    checkpoint = Checkpoint.objects.order_by("-size").values("size", "head").first()
    return {
        "ok": verified.ok,
        "size": verified.size,
        "head": verified.head,
        "bad_seq": verified.bad_seq,
        "reason": verified.reason,
        "events": [{"seq": e.seq, "hash": e.hash, "action": e.action, "object_ref": e.object_ref} for e in events],
        "expected": expected,
        "stage_reached": _stage_reached(events.filter(object_ref=object_ref(version))),
        "checkpoint": checkpoint,
    }


def _stage_reached(events) -> str | None:
    """The stage the newest recorded stage change moved the version to, read from the hashed bytes."""
    last = events.filter(action="model_version.stage_changed").order_by("-seq").first()
    return event_record(last)["data"]["to"] if last else None


def _want(instance, action: str, count: int = 1) -> dict:
    return {"object_ref": object_ref(instance), "action": action, "count": count}


def expected_events(version: ModelVersion) -> list[dict]:
    """Every state change the rows show for this version, each of which must have left its event."""
    wanted = [_want(version, "model_version.registered")]
    for job in version.evidence_jobs.all():
        wanted.append(_want(job, "evidence.queued"))
        if job.status in (EvidenceJob.Status.SUCCEEDED, EvidenceJob.Status.FAILED):
            wanted.append(_want(job, "evidence.completed" if job.status == "succeeded" else "evidence.failed"))
    for request in version.approval_requests.all():
        wanted += [_want(request, "approval.requested"), _want(request, "approval.decided", request.decisions.count())]
        if request.status != "pending":
            wanted.append(_want(request, f"approval.{request.status}"))
    for waiver in version.waivers.all():
        wanted.append(_want(waiver, "evidence.waived"))
        if waiver.revoked_at:
            wanted.append(_want(waiver, "evidence.waiver_revoked"))
    wanted += [_want(deployment, "deployment.reported") for deployment in version.deployments.all()]
    return wanted + _attestation_events(version)


def _attestation_events(version: ModelVersion) -> list[dict]:
    """An answer supersedes the one before at its own answered_at; a superseded row without one was withdrawn."""
    rows = list(version.attestations.all())
    answered = {(row.framework, row.item_id, row.answered_at) for row in rows}
    withdrawn = [
        row for row in rows if row.superseded_at and (row.framework, row.item_id, row.superseded_at) not in answered
    ]
    return [_want(row, "attestation.answered") for row in rows] + [
        _want(row, "attestation.withdrawn") for row in withdrawn
    ]

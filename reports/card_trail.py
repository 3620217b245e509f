"""The people and trail sections of a model card: attestations, approvals, audit events and the checkpoint."""

import json
from datetime import datetime

from django.db.models import Q

from audits.ledger.hashing import format_ts
from audits.models import AuditEvent, Checkpoint
from audits.services import actor_for
from evidence.models import EvidenceJob
from registry.models import ApprovalAttestation, ApprovalRequest, ModelVersion
from reports.models import Attestation
from reports.selectors import attestation_statement, attestations_with_statements, statement_shown


def _ts(value: datetime | None) -> str | None:
    return format_ts(value) if value else None


def _attestation(row: Attestation, as_of: datetime | None) -> dict:
    expired = row.expires_at is not None and as_of is not None and row.expires_at <= as_of
    text = attestation_statement(row)
    return {
        "id": row.pk,
        "framework": row.framework,
        "item_id": row.item_id,
        "checklist_version": row.checklist_version,
        "answer": row.answer,
        "statement": statement_shown(text),  # ERASED once its author was erased; the digest stays
        "statement_erased": text is None,
        "statement_sha256": row.statement_digest,
        "attachments": [
            {key: item.get(key) for key in ("name", "sha256", "size", "content_type")} for item in row.attachments
        ],
        "answered_by": actor_for(row.answered_by),
        "answered_at": _ts(row.answered_at),
        "expires_at": _ts(row.expires_at),
        "expired": expired,
    }


def attestations_section(version: ModelVersion, frameworks: list[str], as_of: datetime | None) -> list[dict]:
    """The answers that were current at as_of (a later answer supersedes an earlier one). A statement
    is read as it is now: one erased since as_of shows as erased."""
    rows = attestations_with_statements(Attestation.objects.filter(version=version, framework__in=frameworks))
    if as_of is not None:
        rows = rows.filter(answered_at__lte=as_of).filter(Q(superseded_at__isnull=True) | Q(superseded_at__gt=as_of))
    else:
        rows = rows.filter(superseded_at__isnull=True)
    return [
        _attestation(row, as_of) for row in rows.select_related("answered_by").order_by("framework", "item_id", "pk")
    ]


def _decision(decision) -> dict:
    return {
        "decided_by": actor_for(decision.decided_by),
        "verdict": decision.verdict,
        "as_officer": decision.as_officer,
        "created_at": _ts(decision.created_at),
        "artifact_sha256": decision.artifact_sha256,
        "evidence_digests": decision.evidence_digests,
        "comment_sha256": decision.comment_digest or None,
    }


def _request(request: ApprovalRequest, as_of: datetime | None) -> dict:
    decisions = request.decisions.select_related("decided_by").order_by("created_at", "pk")
    if as_of is not None:
        decisions = decisions.filter(created_at__lte=as_of)
    return {
        "id": request.pk,
        "target_stage": request.target_stage,
        "status": request.status,
        "requested_by": actor_for(request.requested_by),
        "created_at": _ts(request.created_at),
        "decided_at": _ts(request.decided_at),
        "expires_at": _ts(request.expires_at),
        "artifact_sha256": request.artifact_sha256,
        "policy": request.policy,
        "decisions": [_decision(decision) for decision in decisions],
        "attestation_sha256": _attestation_sha256(request, as_of),
    }


def _attestation_sha256(request: ApprovalRequest, as_of: datetime | None) -> str | None:
    """The SHA-256 of the approval's signed attestation (approvals.attestations), if it was issued by as_of."""
    attestations = ApprovalAttestation.objects.filter(request=request)
    if as_of is not None:
        attestations = attestations.filter(created_at__lte=as_of)
    return attestations.values_list("sha256", flat=True).first()


def approvals_section(version: ModelVersion, as_of: datetime | None) -> list[dict]:
    requests = ApprovalRequest.objects.filter(version=version)
    if as_of is not None:
        requests = requests.filter(created_at__lte=as_of)
    return [
        _request(request, as_of) for request in requests.select_related("requested_by").order_by("created_at", "pk")
    ]


def trail_refs(version: ModelVersion, dataset_ids: list[int]) -> list[str]:
    """The audit-trail objects of a version: itself, its model, its evidence, requests, answers, waivers,
    deployments and the datasets its card cites."""
    refs = [f"registry.modelversion:{version.pk}", f"registry.registeredmodel:{version.model_id}"]
    related = (
        ("audits.evidencejob", EvidenceJob.objects.filter(version=version)),
        ("registry.approvalrequest", version.approval_requests.all()),
        ("reports.attestation", Attestation.objects.filter(version=version)),
        ("registry.evidencewaiver", version.waivers.all()),
        ("registry.deployment", version.deployments.all()),
    )
    for label, rows in related:
        refs += [f"{label}:{pk}" for pk in rows.values_list("pk", flat=True)]
    return refs + [f"registry.dataset:{pk}" for pk in dataset_ids]


def _event(body: bytes, digest: str) -> dict:
    record = json.loads(body)
    return {
        "seq": record["seq"],
        "ts": record["ts"],
        "actor": record["actor"],
        "action": record["action"],
        "object": record["object"],
        "hash": digest,
    }


def _checkpoint(checkpoint: Checkpoint) -> dict:
    return {
        "size": checkpoint.size,
        "head": checkpoint.head,
        "ts": _ts(checkpoint.ts),
        "body": bytes(checkpoint.body).decode(),
        "signature": checkpoint.signature,
        "key_fingerprint": checkpoint.key_fingerprint,
    }


def audit_section(refs: list[str], until_seq: int | None, as_of: datetime | None) -> dict:
    events = AuditEvent.objects.filter(object_ref__in=refs)
    if until_seq is not None:
        events = events.filter(seq__lte=until_seq)
    elif as_of is not None:
        events = events.filter(ts__lte=as_of)
    listed = [_event(bytes(body), digest) for body, digest in events.order_by("seq").values_list("body", "hash")]
    newest = listed[-1]["seq"] if listed else 0
    covering = Checkpoint.objects.filter(size__gte=max(newest, 1)).order_by("size").first()
    latest = Checkpoint.objects.order_by("-size").values_list("size", flat=True).first()
    return {
        "events": listed,
        "newest_seq": newest,
        "checkpoint": _checkpoint(covering) if covering else None,
        "checkpoint_note": None if covering else _uncovered(newest, latest),
    }


def _uncovered(newest: int, latest: int | None) -> str:
    where = f"the newest checkpoint covers events 1 to {latest}" if latest else "no checkpoint has been signed yet"
    return (
        f"No signed checkpoint covers event {newest} yet ({where}). The next periodic checkpoint will; "
        "verify these events against it with the exported trail."
    )

"""Approval attestations: the signed, portable form of an approval, and the list of those that no longer hold.

An approved request gets a DSSE envelope of an in-toto statement (audits.ledger.attestation) signed with
the service's checkpoint key, issued in the transaction that approved it, after the approval's own event,
whose seq and hash it carries; the trail then records the envelope's SHA-256. The predicate is built from
what the request froze (policy, artifact, decisions, evidence digests), so the same approval gives the
same bytes. Withdrawal, expiry and a later decision for the same stage stay authoritative at the gate;
``attestations_revoked`` lists the attestations they undo.
"""

from django.db.models import Q
from django.utils import timezone

from audits.keys import fingerprint, signing_key
from audits.ledger.attestation import APPROVAL_PREDICATE_TYPE, envelope_sign, statement
from audits.ledger.hashing import canonical, sha256_hex
from audits.services import audit_event_append, object_ref
from evidence.models import EvidenceJob
from registry.models import ApprovalAttestation, ApprovalDecision, ApprovalRequest, EvidenceWaiver

Status = ApprovalRequest.Status


def _evidence(evidence: dict) -> list[dict]:
    """Each requirement the approval relied on, with its result's SHA-256 and verdict."""
    jobs = {
        job.pk: job for job in EvidenceJob.objects.filter(pk__in=[d["job"] for d in evidence.values() if "job" in d])
    }
    results = []
    for requirement, digests in sorted(evidence.items()):
        entry = {"requirement": requirement, **digests}
        if "waiver" in digests:
            entry["status"] = "waived"
        elif not digests:
            entry["status"] = "not_applicable"
        else:
            entry["status"] = "done"
        job = jobs.get(digests.get("job"))
        if job is not None:
            entry["verdict"] = job.verdict
        results.append(entry)
    return results


def _waivers(evidence: dict) -> list[dict]:
    ids = sorted(d["waiver"] for d in evidence.values() if "waiver" in d)
    return [
        {
            "waiver": waiver.pk,
            "requirement": waiver.requirement,
            "granted_by": f"user:{waiver.granted_by_id}",
            "justification_sha256": waiver.justification_digest,
            "expires_at": waiver.expires_at.isoformat(),
        }
        for waiver in EvidenceWaiver.objects.filter(pk__in=ids).order_by("pk")
    ]


def approval_predicate(request: ApprovalRequest, event) -> dict:
    decisions = list(request.decisions.filter(verdict=ApprovalDecision.Verdict.APPROVE).order_by("created_at", "pk"))
    evidence = decisions[-1].evidence_digests if decisions else {}
    version = request.version
    return {
        "approval_request": request.pk,
        "model": version.model.name,
        "version": version.version,
        "stage": request.target_stage,
        "risk_tier": version.model.risk_tier,
        "policy": {"sha256": sha256_hex(canonical(request.policy)), "risk_tier": request.policy.get("risk_tier")},
        "evidence": _evidence(evidence),
        "waivers": _waivers(evidence),
        "deciders": [f"user:{d.decided_by_id}" for d in decisions],
        "audit_event": {"seq": event.seq, "hash": event.hash},
        "approved_at": request.decided_at.isoformat(),
        "expires_at": request.expires_at.isoformat(),
    }


def subject_name(request: ApprovalRequest) -> str:
    return f"{request.version.model.name}@{request.version.version}"


def approval_attestation_issue(*, request: ApprovalRequest, event, actor: str) -> ApprovalAttestation | None:
    """Signs the approval just recorded by ``event`` and records the envelope's SHA-256 in the trail; inside
    the approving transaction. A request approved for no artifact (nothing to deploy) gets none."""
    if not request.artifact_sha256:
        return None
    key = signing_key()
    body = statement(
        name=subject_name(request),
        sha256=request.artifact_sha256,
        predicate_type=APPROVAL_PREDICATE_TYPE,
        predicate=approval_predicate(request, event),
    )
    envelope = envelope_sign(key, body)
    attestation = ApprovalAttestation.objects.create(
        request=request, envelope=envelope, sha256=sha256_hex(envelope), keyid=fingerprint(key)
    )
    audit_event_append(
        actor=actor,
        action="approval.attested",
        object_ref=object_ref(request),
        data={
            "attestation_sha256": attestation.sha256,
            "keyid": attestation.keyid,
            "predicate_type": APPROVAL_PREDICATE_TYPE,
            "artifact_sha256": request.artifact_sha256,
            "approval_event": {"seq": event.seq, "hash": event.hash},
        },
    )
    return attestation


def attestation_state(attestation: ApprovalAttestation, *, now=None) -> tuple[str, object]:
    """holds, or why not (withdrawn, expired, superseded) and since when."""
    request, now = attestation.request, now or timezone.now()
    if request.status == Status.WITHDRAWN:
        return "withdrawn", _status_since(request)
    if request.status == Status.EXPIRED or request.expires_at <= now:
        return "expired", request.expires_at
    newer = (
        ApprovalRequest.objects.filter(
            version_id=request.version_id, target_stage=request.target_stage, decided_at__isnull=False
        )
        .filter(Q(decided_at__gt=request.decided_at) | Q(decided_at=request.decided_at, pk__gt=request.pk))
        .order_by("decided_at", "pk")
        .first()
    )
    if newer is not None:
        return "superseded", newer.decided_at
    return "holds", None


def _status_since(request: ApprovalRequest):
    from audits.models import AuditEvent

    event = (
        AuditEvent.objects.filter(object_ref=object_ref(request), action=f"approval.{request.status}")
        .order_by("-seq")
        .only("ts")
        .first()
    )
    return event.ts if event else None


def attestations_revoked(*, rows=None, now=None) -> dict:
    """The revocation list: every attestation among ``rows`` (all by default) that no longer holds, by
    request, with the reason and since when."""
    now = now or timezone.now()
    rows = (ApprovalAttestation.objects.all() if rows is None else rows).select_related("request")
    # Those still approved and unexpired hold unless a later decision for the stage superseded them.
    revoked = []
    for attestation in rows.exclude(request__status=Status.APPROVED, request__expires_at__gt=now).iterator():
        revoked.append(_entry(attestation, now))
    for attestation in rows.filter(request__status=Status.APPROVED, request__expires_at__gt=now).iterator():
        state, _ = attestation_state(attestation, now=now)
        if state != "holds":
            revoked.append(_entry(attestation, now))
    revoked.sort(key=lambda entry: entry["approval_request"])
    return {"generated_at": now.isoformat(), "revoked": revoked}


def _entry(attestation: ApprovalAttestation, now) -> dict:
    reason, since = attestation_state(attestation, now=now)
    return {
        "approval_request": attestation.request_id,
        "attestation_sha256": attestation.sha256,
        "artifact_sha256": attestation.request.artifact_sha256,
        "reason": reason,
        "since": since.isoformat() if since else None,
    }

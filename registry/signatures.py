"""Signed models: the keys and certificate roots each team trusts, and the OpenSSF model-signing signature a
version is registered with, verified over its artifact's files (mlio.model_signatures) before it is kept.

Superusers add and revoke trust anchors, each change with its audit event. A signature that does not verify
refuses the registration with the reason; one that does is recorded with the signer's identity, and the
approval policy of a risk tier may require one (approvals.requirements).
"""

import tempfile
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audits.services import actor_for, audit_event_append, object_ref
from core import evidence_store
from core.errors import DomainError
from core.teams import is_team_name
from mlio.artifacts import ArtifactRejected
from mlio.model_signatures import (
    MAX_BUNDLE_BYTES,
    SignatureRefused,
    TrustAnchor,
    VerifiedSignature,
    anchor_fingerprint,
    model_folder,
    signature_verify,
)
from registry.models import ModelSignature, TrustedSigner

NAME_MAX = 100
PEM_MAX = 64 * 1024


def _invalid(field: str, message: str, code: str = "invalid") -> DomainError:
    return DomainError(code, f"{field}: {message}", fields={field: [message]})


def _check_superuser(user) -> None:
    if not (user and user.is_active and user.is_superuser):
        raise DomainError("permission_denied", "Only superusers configure trusted signers.", status_code=403)


def trusted_signer_validate(*, team, kind: str, name: str, pem: str) -> str:
    """Every rule an anchor must meet, without writing; returns its fingerprint."""
    if team is None or not is_team_name(team.name):
        raise _invalid("team", "a team (a group named team:...) is required.")
    if kind not in TrustedSigner.Kind.values:
        raise _invalid("kind", f"one of {', '.join(TrustedSigner.Kind.values)}.")
    if not (name or "").strip() or len(name) > NAME_MAX:
        raise _invalid("name", f"required, at most {NAME_MAX} characters.")
    if not (pem or "").strip() or len(pem) > PEM_MAX:
        raise _invalid("pem", f"required, at most {PEM_MAX} characters.")
    try:
        return anchor_fingerprint(kind, pem)
    except SignatureRefused as exc:
        raise _invalid("pem", f"{exc}.") from exc


def _anchor_event(signer: TrustedSigner) -> dict:
    return {
        "team": signer.team.name,
        "kind": signer.kind,
        "name": signer.name,
        "fingerprint": signer.fingerprint,
    }


@transaction.atomic
def trusted_signer_add(*, user, team, kind: str, name: str, pem: str) -> TrustedSigner:
    _check_superuser(user)
    fingerprint = trusted_signer_validate(team=team, kind=kind, name=name, pem=pem)
    try:
        with transaction.atomic():
            signer = TrustedSigner.objects.create(
                team=team, kind=kind, name=name.strip(), pem=pem.strip() + "\n", fingerprint=fingerprint, added_by=user
            )
    except IntegrityError as exc:
        raise DomainError(
            "conflict",
            f"pem: {team.name} already trusts this {kind}.",
            fields={"pem": ["Already trusted."]},
            status_code=409,
        ) from exc
    audit_event_append(
        actor=actor_for(user), action="trusted_signer.added", object_ref=object_ref(signer), data=_anchor_event(signer)
    )
    return signer


@transaction.atomic
def trusted_signer_revoke(*, user, signer: TrustedSigner) -> TrustedSigner:
    _check_superuser(user)
    signer = TrustedSigner.objects.select_for_update().select_related("team").get(pk=signer.pk)
    if signer.revoked_at is not None:
        raise DomainError("conflict", f"Trusted signer {signer.pk} is already revoked.", status_code=409)
    signer.revoked_at = timezone.now()
    signer.save(update_fields=["revoked_at"])
    audit_event_append(
        actor=actor_for(user),
        action="trusted_signer.revoked",
        object_ref=object_ref(signer),
        data=_anchor_event(signer),
    )
    return signer


def signature_bytes(upload) -> bytes | None:
    """The uploaded bundle's bytes (a file, or the JSON object the import API takes), within the limit."""
    if upload is None:
        return None
    if isinstance(upload, dict):
        from audits.ledger.hashing import canonical

        data = canonical(upload)
    else:
        data = b"".join(upload.chunks()) if hasattr(upload, "chunks") else bytes(upload)
    if len(data) > MAX_BUNDLE_BYTES:
        raise _invalid("signature", f"at most {MAX_BUNDLE_BYTES} bytes.", code="too_large")
    return data


def _anchors(model) -> dict[str, TrustedSigner]:
    rows = TrustedSigner.objects.filter(team_id=model.team_id, revoked_at__isnull=True).order_by("pk")
    return {f"{row.pk}": row for row in rows}


def _unpack_cap() -> int:
    return settings.MAX_ARTIFACT_BYTES * settings.ARTIFACT_UNPACKED_RATIO  # as acceptance allowed it


def signature_check(*, model, artifact: Path, bundle: bytes) -> tuple[VerifiedSignature, TrustedSigner]:
    """Verifies the bundle over the artifact's files against the model's team's anchors, or refuses (400)
    with the reason."""
    rows = _anchors(model)
    anchors = [TrustAnchor(name=key, kind=row.kind, pem=row.pem) for key, row in rows.items()]
    with tempfile.TemporaryDirectory() as work:
        try:
            folder = model_folder(artifact, Path(work), max_unpacked_bytes=_unpack_cap())
            verified = signature_verify(folder, bundle, anchors)
        except (SignatureRefused, ArtifactRejected) as exc:
            raise _invalid("signature", f"{exc}.", code="signature_invalid") from exc
    row = rows[verified.anchor]
    shown = row.name if verified.method == "key" else verified.signer
    return VerifiedSignature(**{**verified.to_dict(), "anchor": row.name, "signer": shown}), row


def signature_record(*, version, verified: VerifiedSignature, trusted: TrustedSigner, bundle: bytes) -> dict:
    """Keeps the bundle and the verified signature of a version being registered (in its transaction); returns
    what its registration event records."""
    evidence_store.put(bundle)
    ModelSignature.objects.create(
        version=version,
        trusted_signer=trusted,
        method=verified.method,
        signer=verified.signer,
        signer_fingerprint=verified.signer_fingerprint,
        predicate_type=verified.predicate_type,
        subject=verified.subject,
        bundle_sha256=verified.bundle_sha256,
        artifact_sha256=version.artifact.sha256,
        verified_at=timezone.now(),
    )
    return {**verified.to_dict(), "trusted_signer": trusted.pk}


def signature_standing(version) -> tuple[bool, str, dict]:
    """Whether the version's signature still counts: verified at registration over these bytes, by an anchor
    its model's team still trusts. Returns (counts, why not, digests)."""
    signature = ModelSignature.objects.select_related("trusted_signer").filter(version=version).first()
    if signature is None:
        return False, "no model-signing signature was verified when this version was registered", {}
    trusted = signature.trusted_signer
    digests = {
        "bundle_sha256": signature.bundle_sha256,
        "signer": signature.signer,
        "signer_fingerprint": signature.signer_fingerprint,
        "method": signature.method,
    }
    if version.artifact is None or signature.artifact_sha256 != version.artifact.sha256:
        return False, "the signature was verified over other bytes than the version's artifact", digests
    if trusted.revoked_at is not None:
        day = trusted.revoked_at.date().isoformat()
        return False, f"signed by {signature.signer}, whose {trusted.kind} {trusted.name} was revoked on {day}", digests
    if trusted.team_id != version.model.team_id:
        return False, f"signed by {signature.signer}, trusted by another team than the model's", digests
    return True, "", digests

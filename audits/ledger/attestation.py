"""Approval attestations: in-toto Statements v1 in DSSE envelopes signed with Ed25519 (no Django).

The statement's subject is the approved artifact (its name and SHA-256); its predicate says what was
approved, under which policy, on which evidence and by whom (docs/attestations.md). The envelope is the
one the supply-chain tools verify (https://github.com/secure-systems-lab/dsse): the signature covers the
pre-authentication encoding (PAE) of the payload type and the payload, so it cannot be confused with a
checkpoint signature made by the same key. Both the statement and the envelope are serialised with
RFC 8785 and Ed25519 signatures are deterministic, so the same approval always gives the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audits.ledger.hashing import canonical, is_hex64

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# Names the predicate's schema (docs/attestations.md); a new version of the schema gets a new URI.
APPROVAL_PREDICATE_TYPE = "https://verity.dev/attestation/approval/v1"
MAX_ENVELOPE_BYTES = 1 << 20
ENVELOPE_KEYS = frozenset({"payloadType", "payload", "signatures"})
SIGNATURE_KEYS = frozenset({"keyid", "sig"})


class AttestationInvalid(ValueError):
    """The envelope does not verify; ``code`` names why (docs/attestations.md)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def keyid(public_key: Ed25519PublicKey) -> str:
    """The SHA-256 of the raw public key: the fingerprint the service shows for its signing key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def statement(*, name: str, sha256: str, predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    if not is_hex64(sha256):
        raise ValueError(f"the subject's sha256 must be 64 lowercase hex characters, got {sha256!r}")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha256}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def envelope_sign(private_key: Ed25519PrivateKey, body: dict[str, Any]) -> bytes:
    """The DSSE envelope of a statement, as the bytes the service stores and serves."""
    payload = canonical(body)
    signature = private_key.sign(pae(PAYLOAD_TYPE, payload))
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": keyid(private_key.public_key()), "sig": base64.b64encode(signature).decode("ascii")}],
    }
    return canonical(envelope)


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise AttestationInvalid("malformed", f"the envelope's {what} must be a base64 string")
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AttestationInvalid("malformed", f"the envelope's {what} is not valid base64") from None
    # Base64 has spare bits: only the one encoding of the bytes is accepted, so no changed byte goes unseen.
    if base64.b64encode(decoded).decode("ascii") != text:
        raise AttestationInvalid("malformed", f"the envelope's {what} is not in canonical base64")
    return decoded


def _envelope(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise AttestationInvalid("malformed", f"the envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
    try:
        envelope = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise AttestationInvalid("malformed", f"the envelope is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or envelope.keys() != ENVELOPE_KEYS:
        raise AttestationInvalid("malformed", f"the envelope must be an object with exactly {sorted(ENVELOPE_KEYS)}")
    signatures = envelope["signatures"]
    if not isinstance(signatures, list) or not all(
        isinstance(s, dict) and s.keys() <= SIGNATURE_KEYS for s in signatures
    ):
        raise AttestationInvalid("malformed", "the envelope's signatures must be objects with a sig and a keyid")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise AttestationInvalid("malformed", f"the envelope's payloadType must be {PAYLOAD_TYPE}")
    return envelope


def envelope_verify(raw: bytes, public_keys: list[Ed25519PublicKey]) -> dict[str, Any]:
    """The statement inside a DSSE envelope, once a signature by one of the keys verifies; else
    AttestationInvalid. The statement's shape is checked too: a valid signature over something that is
    not an in-toto statement of an artifact proves nothing about a deployment."""
    envelope = _envelope(raw)
    payload = _b64(envelope.get("payload"), "payload")
    message = pae(PAYLOAD_TYPE, payload)
    for entry in envelope["signatures"]:
        signature = _b64(entry.get("sig"), "signature")
        for key in public_keys:
            try:
                key.verify(signature, message)
            except InvalidSignature:
                continue
            if entry.get("keyid", keyid(key)) != keyid(key):
                raise AttestationInvalid("bad_keyid", "the signature's keyid does not name the key that made it")
            return statement_check(payload)
    raise AttestationInvalid("bad_signature", "no signature of the envelope verifies under the given key(s)")


def statement_check(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise AttestationInvalid("malformed", f"the signed payload is not JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("_type") != STATEMENT_TYPE:
        raise AttestationInvalid("malformed", f"the signed payload is not an in-toto statement ({STATEMENT_TYPE})")
    subjects = body.get("subject")
    if not isinstance(subjects, list) or not subjects or not all(_subject_ok(s) for s in subjects):
        raise AttestationInvalid("malformed", "the statement must name its subjects with their sha256 digests")
    if not isinstance(body.get("predicateType"), str) or not isinstance(body.get("predicate"), dict):
        raise AttestationInvalid("malformed", "the statement lacks its predicateType or predicate")
    return body


def _subject_ok(subject: Any) -> bool:
    return (
        isinstance(subject, dict)
        and isinstance(subject.get("name"), str)
        and isinstance(subject.get("digest"), dict)
        and is_hex64(subject["digest"].get("sha256"))
    )


def approval_problems(body: dict[str, Any], *, sha256: str | None = None, now: datetime | None = None) -> list:
    """What stops a verified approval statement from allowing a deployment of these bytes now:
    (code, reason) pairs, none when it holds. Withdrawals are not in the statement: the revocation list
    (or the gate) says those."""
    problems = []
    if body["predicateType"] != APPROVAL_PREDICATE_TYPE:
        problems.append(("wrong_predicate", f"the predicate type is {body['predicateType']}, not an approval"))
        return problems
    digests = {subject["digest"]["sha256"] for subject in body["subject"]}
    if sha256 is not None and sha256 not in digests:
        problems.append(("artifact_mismatch", f"the attestation is for {sorted(digests)}, not for {sha256}"))
    expires = body["predicate"].get("expires_at")
    if now is not None:
        try:
            expired = datetime.fromisoformat(expires) <= now
        except (TypeError, ValueError):
            problems.append(("malformed", f"the predicate's expires_at is not a timestamp: {expires!r}"))
        else:
            if expired:
                problems.append(("expired", f"the approval expired at {expires}"))
    return problems

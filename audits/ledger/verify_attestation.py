"""Standalone verifier of an approval attestation (docs/attestations.md).

    python -m audits.ledger.verify_attestation attestation.json --public-key key.pem \
        [--sha256 HEX] [--revocations revoked.json] [--at 2026-01-01T00:00:00+00:00] [--json]

Checks the DSSE envelope's Ed25519 signature, that it holds an in-toto statement with this service's
approval predicate, that its subject is the artifact about to be deployed (--sha256), that the approval
has not expired (at --at, by default now) and, given the service's revocation list, that it was not
withdrawn or superseded since. Only the standard library, rfc8785 and cryptography are needed: never
import Django here. Exit status: 0 the attestation holds, 1 it does not, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audits.ledger.attestation import AttestationInvalid, approval_problems, envelope_verify
from audits.ledger.signing import load_public_key
from audits.ledger.verify import input_error


def revocation_problems(envelope: bytes, body: dict[str, Any], revocations: Any) -> list[tuple[str, str]]:
    """The entry of the service's revocation list that names this attestation, as a problem."""
    if not isinstance(revocations, dict) or not isinstance(revocations.get("revoked"), list):
        raise ValueError("a revocation list is an object with a 'revoked' list")
    digest = hashlib.sha256(envelope).hexdigest()
    request = body["predicate"].get("approval_request")
    for entry in revocations["revoked"]:
        if not isinstance(entry, dict):
            raise ValueError("each entry of a revocation list is an object")
        if entry.get("attestation_sha256") == digest or (
            request is not None and entry.get("approval_request") == request
        ):
            reason = entry.get("reason", "revoked")
            return [(str(reason), f"the revocation list says this attestation is {reason} since {entry.get('since')}")]
    return []


def verify(
    envelope: bytes,
    public_keys: list[Ed25519PublicKey],
    *,
    sha256: str | None = None,
    now: datetime | None = None,
    revocations: Any = None,
) -> dict[str, Any]:
    """The verdict as a JSON object: ok, the problems found (code and reason) and the statement."""
    try:
        body = envelope_verify(envelope, public_keys)
    except AttestationInvalid as exc:
        return {"ok": False, "problems": [{"code": exc.code, "reason": str(exc)}], "statement": None}
    problems = approval_problems(body, sha256=sha256, now=now)
    if revocations is not None:
        problems += revocation_problems(envelope, body, revocations)
    found = [{"code": code, "reason": reason} for code, reason in problems]
    return {"ok": not found, "problems": found, "statement": body}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audits.ledger.verify_attestation",
        description="Verify an approval attestation (a DSSE envelope of an in-toto statement) offline.",
    )
    parser.add_argument("attestation", help="the envelope as served by .../approval-requests/<id>/attestation/")
    parser.add_argument(
        "--public-key",
        action="append",
        required=True,
        help="the service's Ed25519 public key (PEM); repeat it for keys used before a rotation",
    )
    parser.add_argument("--sha256", help="the SHA-256 of the artifact about to be deployed: must be the subject")
    parser.add_argument("--revocations", help="the service's revocation list (.../attestations/revocations/)")
    parser.add_argument("--at", help="judge expiry at this ISO 8601 time instead of now")
    parser.add_argument("--json", action="store_true", help="print the result as a JSON object")
    return parser


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _when(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"--at needs a UTC offset: {text}")
    return when


def _summary(result: dict[str, Any]) -> str:
    if not result["ok"]:
        return "FAILED: " + "; ".join(p["reason"] for p in result["problems"])
    predicate = result["statement"]["predicate"]
    return (
        f"OK: {predicate.get('model')} {predicate.get('version')} approved for {predicate.get('stage')} "
        f"until {predicate.get('expires_at')} (audit event {predicate.get('audit_event', {}).get('seq')})"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        keys = [load_public_key(_read(path)) for path in args.public_key]
        revocations = json.loads(_read(args.revocations)) if args.revocations else None
        result = verify(_read(args.attestation), keys, sha256=args.sha256, now=_when(args.at), revocations=revocations)
    except (OSError, ValueError) as exc:
        return input_error(exc)
    print(json.dumps(result) if args.json else _summary(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

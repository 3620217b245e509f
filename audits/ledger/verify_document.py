"""Standalone check that a document the service issued is the one its audit trail recorded.

    python -m audits.ledger.verify_document ml-bom.cdx.json --trail trail.jsonl \
        [--checkpoints cps.json --public-key key.pem] [--json]

The trail export is verified first (as ``python -m audits.ledger.verify`` does); then the document's
SHA-256 must be recorded in it, as the value of a ``*_sha256`` member of an event's data (an ML-BOM's
``bom_sha256``, an attestation's ``attestation_sha256``, a report's ``pdf_sha256``). A changed byte gives
another digest, which no event records. Only the standard library, rfc8785 and cryptography are needed:
never import Django here. Exit status: 0 recorded, 1 not recorded or the trail fails, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable
from typing import Any

from audits.ledger.hashing import split_line
from audits.ledger.verify import _options, input_error, parse_json, verify_lines


def recorded_in(lines: Iterable[bytes], digest: str) -> list[dict[str, Any]]:
    """The events of a (verified) export whose data records this SHA-256: seq, action, object, member."""
    found = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        record = parse_json(split_line(line)[0])
        data = record.get("data") if isinstance(record, dict) else None
        for name, value in sorted((data or {}).items()):
            if name.endswith("_sha256") and value == digest:
                found.append(
                    {"seq": record["seq"], "action": record["action"], "object": record["object"], "member": name}
                )
    return found


def verify(document: bytes, lines: list[bytes], **options: Any) -> dict[str, Any]:
    digest = hashlib.sha256(document).hexdigest()
    trail = verify_lines(lines, **options)
    if not trail.ok:
        return {"ok": False, "sha256": digest, "reason": f"the trail does not verify: {trail.reason}", "events": []}
    events = recorded_in(lines, digest)
    reason = None if events else f"no event of the trail ({trail.size} events) records SHA-256 {digest}"
    return {"ok": bool(events), "sha256": digest, "reason": reason, "events": events}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audits.ledger.verify_document",
        description="Check that a document (an ML-BOM, an attestation, a report) is the one the audit trail recorded.",
    )
    parser.add_argument("document", help="the document's file, as downloaded")
    parser.add_argument("--trail", required=True, help="the trail's JSON Lines export (.../audit/export/)")
    parser.add_argument("--checkpoints", help="signed checkpoints, to check the export against (with --public-key)")
    parser.add_argument("--public-key", action="append", help="the service's Ed25519 public key (PEM)")
    parser.add_argument("--json", action="store_true", help="print the result as a JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.checkpoints and not args.public_key:
        parser.error("--checkpoints needs --public-key to check their signatures")
    try:
        with open(args.document, "rb") as fh:
            document = fh.read()
        with open(args.trail, "rb") as fh:
            lines = fh.readlines()
        result = verify(document, lines, **_options(args))
    except (OSError, ValueError) as exc:
        return input_error(exc)
    if args.json:
        print(json.dumps(result))
    elif result["ok"]:
        where = ", ".join(f"seq {e['seq']} ({e['action']}, {e['object']})" for e in result["events"])
        print(f"OK: SHA-256 {result['sha256']} is recorded at {where}")
    else:
        print(f"FAILED: {result['reason']}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Export lines from stored events (docs/audit-trail.md, "Export format"). No Django here.

A line is the record as the database holds it: ``seq``, ``prev``, ``ts``, ``actor``, ``action``,
``object`` and ``hash`` from the row's columns, ``data`` from its stored body. While the columns say
what the hashed body says, that is the stored body with its hash spliced in, byte for byte; where one
was edited, the line carries the edited value, so the line no longer hashes to its ``hash`` and any
verifier of the export (``python -m audits.ledger.verify``) fails at that event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from audits.ledger.hashing import BODY_KEYS, canonical, join_line
from audits.ledger.verify import STORED_COLUMNS, parse_json

_RECORD_KEY = {"object_ref": "object"}


def record_columns(record: dict[str, Any]) -> tuple[Any, ...]:
    """What each of STORED_COLUMNS must hold, according to the hashed record."""
    return tuple(record[_RECORD_KEY.get(name, name)] for name in STORED_COLUMNS)


def export_line(event: tuple[Any, ...], parse: Callable[[bytes], Any] = parse_json) -> bytes:
    """The export line of a stored event: (body, hash) or (body, hash, *STORED_COLUMNS), without newline."""
    body, claimed, columns = event[0], event[1], event[2:]
    try:
        record = parse(body)
    except (ValueError, RecursionError):
        record = None
    if type(record) is not dict or record.keys() != BODY_KEYS:
        return _as_stored(body, claimed)
    if not columns or columns == record_columns(record):
        return join_line(body, claimed)
    fields = {_RECORD_KEY.get(name, name): value for name, value in zip(STORED_COLUMNS, columns, strict=True)}
    try:
        return canonical({**record, **fields, "hash": claimed})
    except (TypeError, ValueError):
        return _unreadable(body, claimed, fields)


def _as_stored(body: bytes, claimed: str) -> bytes:
    try:
        return join_line(body, claimed)
    except ValueError:
        return _unreadable(body, claimed, {})


def _unreadable(body: bytes, claimed: str, fields: dict[str, Any]) -> bytes:
    # Not a record at all: a line no verifier accepts, which still shows what the database holds.
    shown = {"stored_body_hex": body.hex(), "stored_hash": claimed, **{f"stored_{k}": v for k, v in fields.items()}}
    return json.dumps(shown, sort_keys=True, default=str).encode("ascii")

"""Record format of the audit trail: canonical bytes, hashes and export lines.

An event's hash is the SHA-256 of the RFC 8785 (JCS) bytes of the record
without its ``hash`` key, and ``prev`` holds the hash of the event before it,
so editing, removing or reordering a stored event breaks the chain.
docs/audit-trail.md is the public contract this module implements.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

RECORD_VERSION = 1
GENESIS_PREV = "0" * 64
RECORD_KEYS = frozenset({"v", "seq", "ts", "actor", "action", "object", "data", "prev", "hash"})
BODY_KEYS = RECORD_KEYS - {"hash"}
# Most JSON parsers read numbers as IEEE doubles; a larger int would be read
# back as a different number by some auditors' tools.
MAX_SAFE_INT = 2**53 - 1
# Values nest at most this many levels below the top (255 deep): verifiers' parsers recurse, and the
# insert trigger on PostgreSQL (migration audits.0007) refuses deeper data, so appending it fails here first.
MAX_DATA_DEPTH = 256

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX64_BYTES = re.compile(rb"[0-9a-f]{64}")
_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_OBJECT_REF = re.compile(r"[A-Za-z0-9_]+\.[A-Za-z0-9_]+:.+")
# JCS sorts keys, so the top-level "hash" member comes right before "object"
# and only scalars follow it: its occurrence is the last one in the line.
_HASH_MEMBER = b',"hash":"'
_OBJECT_MEMBER = b',"object":"'


def is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def format_ts(dt: datetime) -> str:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("timestamp must be timezone-aware")
    # isoformat always pads the year to 4 digits, unlike strftime on glibc.
    utc = dt.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def coerce_ts(ts: datetime | str) -> str:
    if isinstance(ts, datetime):
        return format_ts(ts)
    if isinstance(ts, str) and _TS.fullmatch(ts) and _is_real_time(ts):
        return ts
    raise ValueError(f"ts must be an aware datetime or a UTC string like 2026-11-23T10:00:00.123456Z, got {ts!r}")


def _is_real_time(ts: str) -> bool:
    try:
        datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return False
    return True


def normalise(value: Any, path: str = "data", level: int = 0) -> Any:
    if level >= MAX_DATA_DEPTH:
        raise ValueError(f"{path}: nested {level} levels deep; the audit trail takes at most {MAX_DATA_DEPTH - 1}")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _safe_int(value, path)
    if isinstance(value, float):
        return _finite_float(value, path)
    if isinstance(value, str):
        return _nfc(value, path)
    if isinstance(value, (list, tuple)):
        return [normalise(item, f"{path}[{i}]", level + 1) for i, item in enumerate(value)]
    if isinstance(value, dict):
        return _normalise_dict(value, path, level)
    raise ValueError(
        f"{path}: unsupported type {type(value).__name__} (allowed: None, bool, int, float, str, list, tuple, dict)"
    )


def _safe_int(value: int, path: str) -> int:
    if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        raise ValueError(f"{path}: integer {value} is outside ±(2**53 - 1), which JSON cannot carry exactly")
    return int(value)


def _finite_float(value: float, path: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{path}: {value} is not allowed (no NaN or Infinity in the audit trail)")
    return float(value)


def _nfc(text: str, path: str) -> str:
    try:
        # The UTF-8 round trip yields a plain str and rejects lone surrogates.
        plain = text.encode("utf-8").decode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{path}: string contains a lone surrogate, which is not valid Unicode text") from None
    return unicodedata.normalize("NFC", plain)


def _normalise_dict(value: dict[Any, Any], path: str, level: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValueError(f"{path}: key {key!r} is a {type(key).__name__}; object keys must be str")
        name = _nfc(key, f"{path} (key {key!r})")
        if name in out:
            raise ValueError(f"{path}: two keys are both {name!r} after NFC normalisation")
        out[name] = normalise(item, f"{path}.{name}", level + 1)
    return out


def canonical(obj: Any) -> bytes:
    return rfc8785.dumps(obj)


def sha256_hex(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@dataclass(frozen=True)
class SealedRecord:
    body: bytes
    hash: str

    def line(self) -> bytes:
        return join_line(self.body, self.hash)


def seal(
    *,
    seq: int,
    ts: datetime | str,
    actor: str,
    action: str,
    object: str,
    data: dict[str, Any],
    prev: str,
) -> SealedRecord:
    record = {
        "v": RECORD_VERSION,
        "seq": _checked_seq(seq, prev),
        "ts": coerce_ts(ts),
        "actor": _label("actor", actor),
        "action": _label("action", action),
        "object": _object_ref(object),
        "data": _data(data),
        "prev": prev,
    }
    body = canonical(record)
    return SealedRecord(body=body, hash=sha256_hex(body))


@dataclass(frozen=True)
class PreparedRecord:
    """A record with everything but its place in the chain already canonical.

    JCS orders the members action, actor, data, object, prev, seq, ts, v, so the bytes up to
    "prev" do not depend on the chain: they are built before the chain is locked, and only the
    short tail (prev, seq, ts, v) is written while it is held. seal() stays the reference; the
    tests check both give the same bytes. ``actor``, ``action`` and ``object`` are the values as
    hashed (NFC), which is what the row's columns beside the body must hold.
    """

    head: bytes
    actor: str
    action: str
    object: str

    def seal(self, *, seq: int, ts: datetime | str, prev: str) -> SealedRecord:
        tail = f'{prev}","seq":{_checked_seq(seq, prev)},"ts":"{coerce_ts(ts)}","v":{RECORD_VERSION}}}'
        body = self.head + tail.encode("ascii")
        return SealedRecord(body=body, hash=sha256_hex(body))


def prepare(*, actor: str, action: str, object: str, data: dict[str, Any]) -> PreparedRecord:
    members = {"action": _label("action", action), "actor": _label("actor", actor)}
    members.update({"data": _data(data), "object": _object_ref(object)})
    head = canonical(members)[:-1] + b',"prev":"'
    return PreparedRecord(head=head, actor=members["actor"], action=members["action"], object=members["object"])


def _checked_seq(seq: object, prev: object) -> int:
    if type(seq) is not int or not 1 <= seq <= MAX_SAFE_INT:
        raise ValueError(f"seq must be an int >= 1, got {seq!r}")
    if not is_hex64(prev):
        raise ValueError(f"prev must be 64 lowercase hex characters, got {prev!r}")
    # Catches a caller that forgot to pass the previous hash (or passed one to seq 1).
    if (seq == 1) != (prev == GENESIS_PREV):
        raise ValueError(f"prev must be GENESIS_PREV for seq 1 and only for seq 1 (seq {seq})")
    return seq


def _label(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty str, got {value!r}")
    return _nfc(value, name)


def _object_ref(value: object) -> str:
    if not isinstance(value, str) or not (value == "" or _OBJECT_REF.fullmatch(value)):
        raise ValueError(f"object must be '' or 'app.model:pk', got {value!r}")
    return _nfc(value, "object")


def _data(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"data must be a dict, got {type(value).__name__}")
    return _normalise_dict(value, "data")


def split_line(line: bytes) -> tuple[bytes, str]:
    at = line.rfind(_HASH_MEMBER)
    start = at + len(_HASH_MEMBER)
    claimed = line[start : start + 64]
    rest = start + 65
    if (
        at < 0
        or _HEX64_BYTES.fullmatch(claimed) is None
        or line[rest - 1 : rest] != b'"'
        or not line.startswith(_OBJECT_MEMBER, rest)
    ):
        raise ValueError('line has no top-level "hash" member of 64 lowercase hex characters before "object"')
    return line[:at] + line[rest:], claimed.decode("ascii")


def join_line(body: bytes, hash_hex: str) -> bytes:
    """Inverse of split_line: the export line for stored body bytes, without re-serialising."""
    at = body.rfind(_OBJECT_MEMBER)
    if at < 0 or not is_hex64(hash_hex):
        raise ValueError('need a canonical record body with an "object" member and a 64 lowercase hex hash')
    return body[:at] + _HASH_MEMBER + hash_hex.encode("ascii") + b'"' + body[at:]

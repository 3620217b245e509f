"""The high-water mark of the trail: the largest size the service has signed and its head, with the last
verification the periodic checkpoint job made, in a file outside the database (AUDIT_HIGH_WATER_FILE,
beside the signing key by default).

Someone who controls the database can delete the checkpoints and cut the trail's tail; what is left is
a valid, shorter chain. The service would sign it, so the file says what was signed before, and
checkpoint_create refuses to sign below it or another history at or beyond it.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from audits.ledger.hashing import is_hex64

VERSION = 1


class HighWaterUnreadable(Exception):
    """The file exists but does not hold a high-water mark: nothing may be signed until it is restored."""


@dataclass(frozen=True)
class HighWater:
    size: int
    head: str


@dataclass(frozen=True)
class TrailState:
    signed: HighWater | None  # None: nothing signed yet (or the file was never written)
    last_check: dict[str, Any] | None  # the periodic job's last verdict: ok, at, size, reason, ...


def state_path() -> Path:
    return Path(settings.AUDIT_HIGH_WATER_FILE)


def state_read() -> TrailState:
    path = state_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return TrailState(signed=None, last_check=None)
    except OSError as exc:
        raise HighWaterUnreadable(f"cannot read the high-water file {path}: {exc.strerror or exc}") from exc
    try:
        state = json.loads(raw)
        return TrailState(signed=_signed(state["signed"]), last_check=state.get("last_check"))
    except (ValueError, TypeError, KeyError) as exc:
        raise HighWaterUnreadable(
            f"the high-water file {path} is damaged ({exc}); restore it from its backup before signing again"
        ) from exc


def _signed(value: Any) -> HighWater | None:
    if value is None:
        return None
    size, head = value["size"], value["head"]
    if type(size) is not int or size < 1 or not is_hex64(head):
        raise ValueError(f"not a signed size and head: {value!r}")
    return HighWater(size=size, head=head)


def state_write(state: TrailState) -> None:
    """Atomically: a crash leaves the old file or the new one, never a mix (write, fsync, rename)."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    signed = None if state.signed is None else {"size": state.signed.size, "head": state.signed.head}
    content = json.dumps({"v": VERSION, "signed": signed, "last_check": state.last_check}, indent=1).encode()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

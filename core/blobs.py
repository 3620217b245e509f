"""Content-addressed storage: bytes are kept once, under their SHA-256, and never rewritten."""

import hashlib
import os
import tempfile
from pathlib import Path

from core.errors import DomainError

CHUNK = 1 << 20


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def receive(upload, *, root: Path, max_bytes: int, field: str) -> tuple[Path, str, int]:
    """Streams an upload to a temporary file under root, hashing as it goes and
    stopping at max_bytes. Returns (temporary path, sha256, size); the caller keeps or discards it."""
    root.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, name = tempfile.mkstemp(dir=root, prefix=".incoming-")
    with os.fdopen(fd, "wb") as out:
        for chunk in upload.chunks(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                os.unlink(name)
                raise DomainError(
                    "too_large",
                    f"{field}: larger than the limit of {max_bytes} bytes.",
                    fields={field: [f"At most {max_bytes} bytes."]},
                    status_code=413,
                )
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        os.unlink(name)
        raise DomainError("invalid", f"{field}: the file is empty.", fields={field: ["Empty file."]})
    return Path(name), digest.hexdigest(), size


def keep(temp: Path, *, root: Path, sha256: str) -> Path:
    """Moves a received file to its content address; identical bytes already there win."""
    final = blob_path(root, sha256)
    if final.exists():
        temp.unlink(missing_ok=True)
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(temp, 0o444)
    os.replace(temp, final)
    return final

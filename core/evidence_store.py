"""Evidence blobs (charts, drift reference profiles) stored once under their SHA-256."""

import hashlib
import json
import os
import tempfile

from django.conf import settings

from core.blobs import blob_path


def put(data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    final = blob_path(settings.EVIDENCE_ROOT, digest)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(name, final)
    return digest


def get(digest: str) -> bytes:
    data = blob_path(settings.EVIDENCE_ROOT, digest).read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise ValueError(f"evidence blob {digest} does not match its digest")
    return data


def put_json(value) -> str:
    return put(json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())


def get_json(digest: str):
    return json.loads(get(digest))

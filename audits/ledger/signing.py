"""Ed25519 signed checkpoints of the audit trail.

A checkpoint commits the service to the head hash of the first ``size``
events. An auditor who keeps checkpoints outside the service can later prove
that the trail was neither cut short nor rewritten and re-hashed, which the
bare hash chain alone cannot show.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audits.ledger.hashing import MAX_SAFE_INT, canonical, coerce_ts, is_hex64

CHECKPOINT_VERSION = 1
CHECKPOINT_KEYS = frozenset({"v", "size", "head", "ts"})


def generate_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not an unencrypted PKCS8 PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"checkpoint signing key must be Ed25519, got {type(key).__name__}")
    return key


def public_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"checkpoint public key must be Ed25519, got {type(key).__name__}")
    return key


def checkpoint_body(*, size: int, head: str, ts: datetime | str) -> dict[str, Any]:
    if type(size) is not int or not 1 <= size <= MAX_SAFE_INT:
        raise ValueError(f"checkpoint size must be an int >= 1, got {size!r}")
    if not is_hex64(head):
        raise ValueError(f"checkpoint head must be 64 lowercase hex characters, got {head!r}")
    return {"v": CHECKPOINT_VERSION, "size": size, "head": head, "ts": coerce_ts(ts)}


def sign_checkpoint(private_key: Ed25519PrivateKey, body: dict[str, Any]) -> str:
    return base64.b64encode(private_key.sign(canonical(body))).decode("ascii")


def checkpoint_signature_valid(public_key: Ed25519PublicKey, body: dict[str, Any], signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, canonical(body))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        # A signature that cannot even be decoded is as bad as a wrong one.
        return False
    return True


def checkpoint_to_json(body: dict[str, Any], signature_b64: str) -> dict[str, Any]:
    return {**body, "signature": signature_b64}


def checkpoint_from_json(obj: object) -> tuple[dict[str, Any], str]:
    # Extra keys (an id in a listing, say) are ignored: the signature covers the body only.
    if not isinstance(obj, dict):
        raise ValueError(f"a checkpoint must be a JSON object, got {type(obj).__name__}")
    missing = sorted((CHECKPOINT_KEYS | {"signature"}) - obj.keys())
    if missing:
        raise ValueError(f"checkpoint lacks {', '.join(missing)}")
    if obj["v"] != CHECKPOINT_VERSION or type(obj["v"]) is not int:
        raise ValueError(f"unsupported checkpoint version {obj['v']!r}")
    if not isinstance(obj["signature"], str):
        raise ValueError("checkpoint signature must be a base64 string")
    body = checkpoint_body(size=obj["size"], head=obj["head"], ts=obj["ts"])
    return body, obj["signature"]

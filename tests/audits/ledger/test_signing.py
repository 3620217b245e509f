"""Ed25519 signed checkpoints: keys, signatures and the exchanged JSON form."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audits.ledger.hashing import canonical
from audits.ledger.signing import (
    checkpoint_body,
    checkpoint_from_json,
    checkpoint_signature_valid,
    checkpoint_to_json,
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_pem,
    sign_checkpoint,
)

HEAD = "41a0270eab17373d11ffbb127b3829e1ee0270719c32458e36491fe3a53487c4"
TS = "2026-11-23T10:05:00.000000Z"


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return load_private_key(generate_private_key_pem())


@pytest.fixture(scope="module")
def public_key(private_key: Ed25519PrivateKey) -> Ed25519PublicKey:
    return load_public_key(public_key_pem(private_key))


def _body(**overrides: Any) -> dict[str, Any]:
    return checkpoint_body(**{"size": 7, "head": HEAD, "ts": TS, **overrides})


def test_keys_are_pkcs8_and_spki_pem() -> None:
    pem = generate_private_key_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert public_key_pem(load_private_key(pem)).startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert generate_private_key_pem() != pem


def test_checkpoint_body_shape() -> None:
    assert _body() == {"v": 1, "size": 7, "head": HEAD, "ts": TS}
    assert _body(ts=datetime(2026, 11, 23, 10, 5, tzinfo=UTC))["ts"] == TS


def test_signature_round_trip(private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    signature = sign_checkpoint(private_key, _body())
    assert re.fullmatch(r"[A-Za-z0-9+/]{86}==", signature)
    assert checkpoint_signature_valid(public_key, _body(), signature)


def test_signature_covers_the_canonical_body_bytes(private_key: Ed25519PrivateKey) -> None:
    # What docs/audit-trail.md promises an auditor: plain Ed25519 over JCS(body).
    signature = base64.b64decode(sign_checkpoint(private_key, _body()))
    message = b'{"head":"' + HEAD.encode() + b'","size":7,"ts":"' + TS.encode() + b'","v":1}'
    assert canonical(_body()) == message
    private_key.public_key().verify(signature, message)


@pytest.mark.parametrize("change", [{"size": 8}, {"head": "f" * 64}, {"ts": "2026-11-23T10:05:00.000001Z"}])
def test_tampered_checkpoint_fails(
    private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey, change: dict[str, Any]
) -> None:
    signature = sign_checkpoint(private_key, _body())
    assert not checkpoint_signature_valid(public_key, _body(**change), signature)


def test_checkpoint_signed_by_another_key_fails(public_key: Ed25519PublicKey) -> None:
    forger = load_private_key(generate_private_key_pem())
    assert not checkpoint_signature_valid(public_key, _body(), sign_checkpoint(forger, _body()))


@pytest.mark.parametrize(
    "signature",
    ["", "!!!not base64!!!", "QUJD", base64.b64encode(b"\0" * 64).decode(), "é", None, 42],
)
def test_garbage_signatures_are_invalid_not_errors(public_key: Ed25519PublicKey, signature: Any) -> None:
    assert checkpoint_signature_valid(public_key, _body(), signature) is False


def test_flipped_signature_bit_fails(private_key: Ed25519PrivateKey, public_key: Ed25519PublicKey) -> None:
    raw = bytearray(base64.b64decode(sign_checkpoint(private_key, _body())))
    raw[10] ^= 1
    assert not checkpoint_signature_valid(public_key, _body(), base64.b64encode(bytes(raw)).decode())


def test_loading_bad_keys_raises_value_error() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    other_private = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    other_public = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_private_key(other_private)
    with pytest.raises(ValueError, match="Ed25519"):
        load_public_key(other_public)
    with pytest.raises(ValueError, match="PEM"):
        load_private_key(b"not a key")
    with pytest.raises(ValueError, match="PEM"):
        load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"size": 0}, "size must be an int >= 1"),
        ({"size": True}, "size must be an int >= 1"),
        ({"size": "7"}, "size must be an int >= 1"),
        ({"head": HEAD.upper()}, "head must be 64 lowercase hex"),
        ({"ts": "yesterday"}, "ts must be"),
    ],
)
def test_checkpoint_body_validates(overrides: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        _body(**overrides)


def test_checkpoint_json_round_trip(private_key: Ed25519PrivateKey) -> None:
    signature = sign_checkpoint(private_key, _body())
    exchanged = checkpoint_to_json(_body(), signature)
    assert exchanged == {"v": 1, "size": 7, "head": HEAD, "ts": TS, "signature": signature}
    assert checkpoint_from_json({**exchanged, "id": 3}) == (_body(), signature)


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ([], "must be a JSON object"),
        ({"v": 1, "size": 7, "head": HEAD, "ts": TS}, "lacks signature"),
        ({"size": 7, "head": HEAD, "signature": "x"}, "lacks ts, v"),
        ({"v": 2, "size": 7, "head": HEAD, "ts": TS, "signature": "x"}, "unsupported checkpoint version 2"),
        ({"v": 1, "size": 7, "head": HEAD, "ts": TS, "signature": 5}, "signature must be a base64 string"),
        ({"v": 1, "size": -1, "head": HEAD, "ts": TS, "signature": "x"}, "size must be an int >= 1"),
    ],
)
def test_checkpoint_from_json_rejects_malformed_objects(obj: Any, needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        checkpoint_from_json(obj)


def test_the_documented_example_checkpoint_verifies_under_the_documented_key() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "audit-trail.md").read_text(encoding="utf-8")
    exchanged = re.search(r'^\{"v": 1, "size": 2, .*"signature": .*\}$', doc, re.MULTILINE)
    pem = re.search(r"-----BEGIN PUBLIC KEY-----\n.*?\n-----END PUBLIC KEY-----\n", doc, re.DOTALL)
    assert exchanged and pem
    body, signature = checkpoint_from_json(json.loads(exchanged.group(0)))
    public_key = load_public_key(pem.group(0).encode())
    assert checkpoint_signature_valid(public_key, body, signature)
    assert canonical(body).decode() in doc
    assert not checkpoint_signature_valid(public_key, {**body, "size": 3}, signature)

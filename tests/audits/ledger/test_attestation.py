"""The DSSE envelope and in-toto statement of audits.ledger.attestation, without Django."""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audits.ledger.attestation import (
    APPROVAL_PREDICATE_TYPE,
    AttestationInvalid,
    approval_problems,
    envelope_sign,
    envelope_verify,
    pae,
    statement,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SHA = "ab" * 32


def _statement(**predicate):
    body = {"stage": "production", "expires_at": "2027-01-01T00:00:00+00:00", **predicate}
    return statement(name="m@1", sha256=SHA, predicate_type=APPROVAL_PREDICATE_TYPE, predicate=body)


def test_pae_matches_the_dsse_specification():
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_signing_is_deterministic_and_verifies():
    envelope = envelope_sign(KEY, _statement())
    assert envelope == envelope_sign(KEY, _statement())
    assert envelope_verify(envelope, [KEY.public_key()]) == _statement()


def test_another_key_or_a_stray_member_is_refused():
    envelope = envelope_sign(KEY, _statement())
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(AttestationInvalid) as caught:
        envelope_verify(envelope, [other])
    assert caught.value.code == "bad_signature"
    extra = json.dumps({**json.loads(envelope), "note": "x"}).encode()
    with pytest.raises(AttestationInvalid, match="exactly"):
        envelope_verify(extra, [KEY.public_key()])


def test_a_keyid_that_names_another_key_is_refused():
    outer = json.loads(envelope_sign(KEY, _statement()))
    outer["signatures"][0]["keyid"] = "0" * 64
    with pytest.raises(AttestationInvalid) as caught:
        envelope_verify(json.dumps(outer).encode(), [KEY.public_key()])
    assert caught.value.code == "bad_keyid"


def test_a_signed_payload_that_is_not_a_statement_proves_nothing():
    payload = b'{"hello": "world"}'
    signature = KEY.sign(pae("application/vnd.in-toto+json", payload))
    envelope = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"sig": base64.b64encode(signature).decode()}],
    }
    with pytest.raises(AttestationInvalid, match="not an in-toto statement"):
        envelope_verify(json.dumps(envelope).encode(), [KEY.public_key()])


def test_the_approval_problems_name_the_artifact_and_the_expiry():
    body = _statement()
    assert approval_problems(body, sha256=SHA, now=datetime(2026, 6, 1, tzinfo=UTC)) == []
    codes = [code for code, _ in approval_problems(body, sha256="cd" * 32, now=datetime(2027, 6, 1, tzinfo=UTC))]
    assert codes == ["artifact_mismatch", "expired"]
    other = {**body, "predicateType": "https://slsa.dev/provenance/v1"}
    assert [code for code, _ in approval_problems(other)] == ["wrong_predicate"]

"""Signed models: trusted keys and roots per team (superusers, audited), a model-signing signature verified over
the artifact at registration with the signer recorded, and a policy that requires one per risk tier."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audits.models import AuditEvent
from core import evidence_store
from core.errors import DomainError
from registry.models import ApprovalPolicy, ModelSignature, ModelVersion, TrustedSigner
from registry.signatures import trusted_signer_add, trusted_signer_revoke
from tests.factories import OTHER_TEAM, PERSONA_TEAM, team
from tests.registry_fixtures import (
    decide,
    register_model,
    request_approval,
)
from tests.signing_fixtures import certificate_signer, sign_with_certificate, sign_with_key, signing_key

pytestmark = pytest.mark.django_db


def _events(action: str) -> list[dict]:
    return [json.loads(bytes(b)) for b in AuditEvent.objects.filter(action=action).values_list("body", flat=True)]


@pytest.fixture
def signed(tmp_path, model_bytes):
    """The model file, signed with a release key, and the key."""
    path = tmp_path / "model.skops"
    path.write_bytes(model_bytes)
    key = signing_key(tmp_path)
    return key, sign_with_key(path, key, tmp_path / "model.sig")


def _register(client, payload: bytes, bundle: bytes | None, version="1.0.0"):
    body = {
        "artifact": SimpleUploadedFile("model.skops", payload),
        "metadata": json.dumps({"version": version}),
    }
    if bundle is not None:
        body["signature"] = SimpleUploadedFile("model.sig", bundle, content_type="application/json")
    return client.post(reverse("v1:model-versions", args=["credit-scoring"]), body, format="multipart")


def _trust(admin_user, pem: str, kind="key", name="release-2026", team_name=PERSONA_TEAM) -> TrustedSigner:
    return trusted_signer_add(user=admin_user, team=team(team_name), kind=kind, name=name, pem=pem)


def test_superusers_add_and_revoke_trusted_keys_each_step_audited(admin_user, officer, tmp_path):
    key = signing_key(tmp_path)
    signer = _trust(admin_user, key.public_pem)
    (added,) = _events("trusted_signer.added")
    assert added["data"] == {
        "team": PERSONA_TEAM,
        "kind": "key",
        "name": "release-2026",
        "fingerprint": signer.fingerprint,
    }
    with pytest.raises(DomainError) as again:
        _trust(admin_user, key.public_pem, name="same key")
    assert again.value.status_code == 409
    with pytest.raises(DomainError) as forbidden:
        trusted_signer_add(user=officer, team=team(), kind="key", name="mine", pem=key.public_pem)
    assert forbidden.value.status_code == 403
    with pytest.raises(DomainError) as bad:
        _trust(admin_user, "not a key", name="bad")
    assert bad.value.fields == {"pem": ["the key is not a PEM public key."]}
    trusted_signer_revoke(user=admin_user, signer=signer)
    assert _events("trusted_signer.revoked")[0]["data"]["fingerprint"] == signer.fingerprint
    assert TrustedSigner.objects.get(pk=signer.pk).revoked_at is not None


def test_a_signed_registration_records_the_signer_and_keeps_the_bundle(ci_client, admin_user, model_bytes, signed):
    key, bundle = signed
    _trust(admin_user, key.public_pem)
    assert register_model(ci_client).status_code == 201
    response = _register(ci_client, model_bytes, bundle)
    assert response.status_code == 201, response.json()
    signature = ModelSignature.objects.get(version__version="1.0.0")
    assert (signature.method, signature.signer) == ("key", "release-2026")
    assert signature.artifact_sha256 == ModelVersion.objects.get().artifact.sha256
    assert evidence_store.get(signature.bundle_sha256) == bundle
    (event,) = _events("model_version.registered")
    assert event["data"]["signature"]["signer"] == "release-2026"
    assert event["data"]["signature"]["bundle_sha256"] == signature.bundle_sha256


def test_a_changed_byte_in_the_signed_model_refuses_the_registration(ci_client, admin_user, model_bytes, signed):
    key, bundle = signed
    _trust(admin_user, key.public_pem)
    register_model(ci_client)
    tampered = bytearray(model_bytes)
    tampered[10] ^= 0x01  # the first local header's modification time: the archive still loads, its bytes differ
    response = _register(ci_client, bytes(tampered), bundle)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "signature_invalid"
    assert "differ from those signed: Hash mismatch for '.'" in error["fields"]["signature"][0]
    assert not ModelVersion.objects.exists() and not _events("model_version.registered")


def test_a_damaged_archive_is_refused_as_such_not_a_server_error(ci_client, model_bytes):
    register_model(ci_client)
    damaged = bytearray(model_bytes)
    damaged[len(damaged) // 2] ^= 0x01
    response = _register(ci_client, bytes(damaged), None)
    assert response.status_code == 400 and response.json()["error"]["code"] == "corrupt_archive"


def test_a_key_trusted_by_another_team_does_not_count(ci_client, admin_user, model_bytes, signed):
    key, bundle = signed
    _trust(admin_user, key.public_pem, team_name=OTHER_TEAM)
    register_model(ci_client)
    response = _register(ci_client, model_bytes, bundle)
    assert response.status_code == 400
    assert "trusts no signing key" in response.json()["error"]["message"]


def test_a_certificate_signed_model_records_the_certificate_subject(ci_client, admin_user, model_bytes, tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(model_bytes)
    signer = certificate_signer(tmp_path)
    bundle = sign_with_certificate(path, signer, tmp_path / "model.sig")
    _trust(admin_user, signer.root_pem, kind="root", name="bank-ca")
    register_model(ci_client)
    assert _register(ci_client, model_bytes, bundle).status_code == 201
    signature = ModelSignature.objects.get()
    assert (signature.method, signature.signer) == ("certificate", "CN=model-release-bot,O=Example Bank")
    assert signature.trusted_signer.name == "bank-ca"


def test_the_policy_can_require_a_valid_signature_refusing_with_the_reason(
    ci_client, client_as, officer, officer2, admin_user, model_bytes, signed, no_evidence_policy
):
    key, bundle = signed
    ApprovalPolicy.objects.filter(risk_tier="medium").update(requires_model_signature=True)
    trusted = _trust(admin_user, key.public_pem)
    register_model(ci_client)
    assert _register(ci_client, model_bytes, None).status_code == 201
    assert _register(ci_client, model_bytes, bundle, version="1.1.0").status_code == 201

    unsigned = request_approval(ci_client, version="1.0.0").json()["id"]
    refused = decide(client_as(officer), unsigned)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "evidence_missing"
    assert "model_signature: no model-signing signature was verified" in json.dumps(refused.json())

    signed_request = request_approval(ci_client, version="1.1.0").json()["id"]
    assert decide(client_as(officer), signed_request).status_code == 201
    trusted_signer_revoke(user=admin_user, signer=trusted)
    refused = decide(client_as(officer2), signed_request)
    assert refused.status_code == 409
    assert "whose key release-2026 was revoked on" in json.dumps(refused.json())


def test_a_signature_without_an_artifact_is_refused(ci_client, admin_user, signed):
    register_model(ci_client)
    body = {
        "metadata": json.dumps({"version": "1.0.0"}),
        "signature": SimpleUploadedFile("model.sig", signed[1]),
    }
    response = ci_client.post(reverse("v1:model-versions", args=["credit-scoring"]), body, format="multipart")
    assert response.status_code == 400 and "signature" in response.json()["error"]["fields"]


def test_only_superusers_see_and_add_trusted_signers_in_the_admin(client, admin_user, officer, tmp_path):
    url = reverse("admin:registry_trustedsigner_add")
    client.force_login(officer)
    assert client.get(url).status_code in (302, 403)
    client.force_login(admin_user)
    assert client.get(url).status_code == 200
    key = signing_key(tmp_path)
    body = {"team": team().pk, "kind": "key", "name": "release-2026", "pem": key.public_pem}
    assert client.post(url, body).status_code == 302
    assert TrustedSigner.objects.get().added_by == admin_user
    assert _events("trusted_signer.added")[0]["actor"] == f"user:{admin_user.pk}"
    response = client.post(url, {**body, "name": "bad", "pem": "nonsense"})
    assert response.status_code == 200 and b"not a PEM public key" in response.content


def test_the_signature_appears_in_the_model_card_and_the_annex_iv_crosswalk(ci_client, admin_user, model_bytes, signed):
    from reports.annex_iv import annex_iv_document
    from reports.card import card_build

    key, bundle = signed
    _trust(admin_user, key.public_pem)
    register_model(ci_client)
    assert _register(ci_client, model_bytes, bundle).status_code == 201
    version = ModelVersion.objects.get()
    card = card_build(version=version, scope="gdpr")
    shown = card["model_details"]["signature"]
    assert (shown["signer"], shown["method"], shown["trusted_as"]) == ("release-2026", "key", "release-2026")
    assert shown["evidence"]["sha256"] == ModelSignature.objects.get().bundle_sha256
    rows = {row["kind"]: row for row in annex_iv_document(card)["crosswalk"]["rows"]}
    assert rows["model_signature"]["pointers"] == [shown["evidence"]]

"""OpenSSF model-signing signatures verified offline over a model file or folder, signed by the real library."""

import base64
import json
from pathlib import Path

import pytest

from mlio.model_signatures import (
    SignatureRefused,
    TrustAnchor,
    anchor_fingerprint,
    key_fingerprint,
    signature_verify,
)
from tests.signing_fixtures import certificate_signer, sign_with_certificate, sign_with_key, signing_key


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(bytes(range(256)) * 64)
    return path


@pytest.fixture
def model_folder(tmp_path):
    folder = tmp_path / "credit-risk"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors:\n  sklearn: {}\n")
    (folder / "model.pkl").write_bytes(b"\x80\x04weights" * 100)
    return folder


def _key_anchor(key, name="release-2026"):
    return TrustAnchor(name=name, kind="key", pem=key.public_pem)


def test_a_key_signed_model_verifies_and_names_the_trusted_key(tmp_path, model_file):
    key = signing_key(tmp_path)
    bundle = sign_with_key(model_file, key, tmp_path / "model.sig")
    verified = signature_verify(model_file, bundle, [_key_anchor(signing_key(tmp_path, "other")), _key_anchor(key)])
    assert (verified.method, verified.signer, verified.anchor) == ("key", "release-2026", "release-2026")
    assert verified.signer_fingerprint == key_fingerprint(key.public_pem)
    assert verified.predicate_type == "https://model_signing/signature/v1.0"
    assert verified.subject == "model.skops"


def test_a_changed_byte_in_the_signed_model_is_caught(tmp_path, model_file):
    key = signing_key(tmp_path)
    bundle = sign_with_key(model_file, key, tmp_path / "model.sig")
    data = bytearray(model_file.read_bytes())
    data[1000] ^= 0x01
    model_file.write_bytes(bytes(data))
    with pytest.raises(SignatureRefused, match=r"the model's files differ from those signed: Hash mismatch for '\.'"):
        signature_verify(model_file, bundle, [_key_anchor(key)])


def test_a_changed_byte_in_the_signature_is_caught(tmp_path, model_file):
    key = signing_key(tmp_path)
    bundle = json.loads(sign_with_key(model_file, key, tmp_path / "model.sig"))
    signature = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
    signature[-1] ^= 0x01
    bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(SignatureRefused, match="does not verify"):
        signature_verify(model_file, json.dumps(bundle).encode(), [_key_anchor(key)])


def test_a_key_the_team_does_not_trust_is_refused(tmp_path, model_file):
    bundle = sign_with_key(model_file, signing_key(tmp_path), tmp_path / "model.sig")
    with pytest.raises(SignatureRefused, match="a key the model's team does not trust"):
        signature_verify(model_file, bundle, [_key_anchor(signing_key(tmp_path, "other"))])
    with pytest.raises(SignatureRefused, match="trusts no signing key"):
        signature_verify(model_file, bundle, [])


def test_a_certificate_signed_folder_verifies_against_its_root_and_names_the_subject(tmp_path, model_folder):
    signer = certificate_signer(tmp_path)
    bundle = sign_with_certificate(model_folder, signer, tmp_path / "model.sig")
    stranger = certificate_signer(tmp_path, "someone-else")
    roots = [TrustAnchor("other-ca", "root", stranger.root_pem), TrustAnchor("bank-ca", "root", signer.root_pem)]
    verified = signature_verify(model_folder, bundle, roots)
    assert (verified.method, verified.anchor) == ("certificate", "bank-ca")
    assert verified.signer == signer.subject == "CN=model-release-bot,O=Example Bank"
    with pytest.raises(SignatureRefused, match="does not verify"):
        signature_verify(model_folder, bundle, roots[:1])
    (model_folder / "extra.py").write_text("print('hello')\n")
    with pytest.raises(SignatureRefused, match="Extra files found"):
        signature_verify(model_folder, bundle, roots)


def test_keyless_sigstore_bundles_are_refused_with_the_reason(tmp_path, model_file):
    bundle = json.loads(sign_with_key(model_file, signing_key(tmp_path), tmp_path / "model.sig"))
    bundle["verificationMaterial"] = {"certificate": {"rawBytes": "MIIB"}, "tlogEntries": [{"logIndex": "1"}]}
    with pytest.raises(SignatureRefused, match="keyless Sigstore signatures need the public-good"):
        signature_verify(model_file, json.dumps(bundle).encode(), [])


@pytest.mark.parametrize(
    ("bundle", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b'{"mediaType": "application/json"}', "no bundle mediaType"),
        (b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}', "no DSSE envelope"),
        (b" " * (1 << 20) + b"{}", "larger than"),
    ],
)
def test_what_is_no_model_signing_bundle_is_refused(model_file, bundle, reason):
    with pytest.raises(SignatureRefused, match=reason):
        signature_verify(model_file, bundle, [])


def test_trust_anchors_are_checked_when_added(tmp_path):
    key = signing_key(tmp_path)
    assert anchor_fingerprint("key", key.public_pem) == key_fingerprint(key.public_pem)
    assert len(anchor_fingerprint("root", certificate_signer(tmp_path).root_pem)) == 64
    with pytest.raises(SignatureRefused, match="not a PEM public key"):
        anchor_fingerprint("key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SignatureRefused, match="not a PEM certificate|holds no certificate"):
        anchor_fingerprint("root", key.public_pem)


def test_a_zipped_mlflow_model_is_verified_as_its_folder_and_other_zips_as_files(tmp_path, model_folder):
    import shutil
    import zipfile

    from mlio.model_signatures import model_folder as covered

    key = signing_key(tmp_path)
    bundle = sign_with_key(model_folder, key, tmp_path / "model.sig")
    archive = Path(shutil.make_archive(str(tmp_path / "packed"), "zip", tmp_path, model_folder.name))
    folder = covered(archive, tmp_path / "work", max_unpacked_bytes=1 << 20)
    assert folder.is_dir() and (folder / "MLmodel").exists()
    assert signature_verify(folder, bundle, [_key_anchor(key)]).subject == "credit-risk"
    plain = tmp_path / "weights.zip"
    with zipfile.ZipFile(plain, "w") as handle:
        handle.writestr("schema.json", "{}")
    assert covered(plain, tmp_path / "work2", max_unpacked_bytes=1 << 20) == plain

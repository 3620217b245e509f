"""The MLflow import path verifies a model-signing signature over the files of the model folder it downloads."""

import json
import zipfile

import pytest
from django.urls import reverse

from mlio.mlflow import import_model
from registry.models import ModelSignature
from registry.signatures import trusted_signer_add
from tests.factories import team
from tests.signing_fixtures import sign_with_key, signing_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed_store(settings, mlflow_store):
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [mlflow_store.uri]
    return mlflow_store


@pytest.fixture
def signed_folder(allowed_store, tmp_path):
    """What a release pipeline signs: the model folder as MLflow keeps it (unpacked from the same download)."""
    imported = import_model(tracking_uri=allowed_store.uri, source="models:/credit-risk/1", workdir=tmp_path)
    folder = tmp_path / "signed"
    with zipfile.ZipFile(imported.zip_path) as archive:
        archive.extractall(folder)
    (root,) = [path.parent for path in folder.rglob("MLmodel")]
    key = signing_key(tmp_path)
    return root, key, sign_with_key(root, key, tmp_path / "model.sig")


def _import(client, uri, signature):
    client.post(reverse("v1:models"), {"name": "credit-risk", "risk_tier": "low"}, format="json")
    body = {"version": "2.0.0", "tracking_uri": uri, "source": "models:/credit-risk/1", "signature": signature}
    return client.post(reverse("v1:model-version-import", args=["credit-risk"]), body, format="json")


def test_an_imported_model_with_a_valid_signature_records_its_signer(
    ci_client, admin_user, allowed_store, signed_folder
):

    _, key, bundle = signed_folder
    trusted_signer_add(user=admin_user, team=team(), kind="key", name="mlflow-release", pem=key.public_pem)
    response = _import(ci_client, allowed_store.uri, json.loads(bundle))
    assert response.status_code == 201, response.json()
    signature = ModelSignature.objects.get()
    assert (signature.signer, signature.method) == ("mlflow-release", "key")


def test_an_import_whose_files_differ_from_those_signed_is_refused(ci_client, admin_user, allowed_store, tmp_path):

    imported = import_model(tracking_uri=allowed_store.uri, source="models:/credit-risk/1", workdir=tmp_path)
    folder = tmp_path / "signed"
    with zipfile.ZipFile(imported.zip_path) as archive:
        archive.extractall(folder)
    (root,) = [path.parent for path in folder.rglob("MLmodel")]
    mlmodel = root / "MLmodel"
    mlmodel.write_bytes(mlmodel.read_bytes() + b"# one more byte\n")  # the signer signed other files
    key = signing_key(tmp_path)
    bundle = sign_with_key(root, key, tmp_path / "model.sig")
    trusted_signer_add(user=admin_user, team=team(), kind="key", name="mlflow-release", pem=key.public_pem)
    response = _import(ci_client, allowed_store.uri, json.loads(bundle))
    assert response.status_code == 400
    assert "Hash mismatch for 'MLmodel'" in response.json()["error"]["fields"]["signature"][0]
    assert not ModelSignature.objects.exists()

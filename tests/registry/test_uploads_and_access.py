import io
import pickle

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from registry.models import ModelVersion, RegisteredModel
from tests.registry_fixtures import SCHEMA, register_dataset, register_model, register_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(ci_client):
    assert register_model(ci_client).status_code == 201


def _error(response, status):
    assert response.status_code == status, response.content[:500]
    return response.json()["error"]


class TestBadArtifacts:
    def test_unknown_bytes(self, ci_client, model):
        error = _error(register_version(ci_client, b"\x00\x01 not a model at all " * 10), 400)
        assert error["code"] == "unknown_format"
        assert "artifact" in error["fields"]

    def test_truncated(self, ci_client, model, model_bytes):
        error = _error(register_version(ci_client, model_bytes[: len(model_bytes) // 2]), 400)
        assert error["code"] == "truncated"

    def test_oversize(self, ci_client, model, model_bytes, settings):
        settings.MAX_ARTIFACT_BYTES = 100
        error = _error(register_version(ci_client, model_bytes), 413)
        assert error["code"] == "too_large"

    def test_pickle_is_refused_unless_allowed(self, ci_client, model):
        from sklearn.dummy import DummyClassifier

        payload = pickle.dumps(DummyClassifier().fit([[0], [1]], [0, 1]))
        error = _error(register_version(ci_client, payload), 400)
        assert error["code"] == "pickle_not_allowed"
        assert "runs code" in error["message"] or "run code" in error["message"]
        assert not ModelVersion.objects.exists()

    def test_a_sample_that_does_not_fit_the_model(self, ci_client, model, model_bytes, applicants):
        renamed = applicants.rename(columns={"income": "salary"})
        schema = {**SCHEMA, "features": ["salary", "debt_ratio", "age"]}
        dataset = register_dataset(ci_client, renamed, schema=schema).json()["id"]
        error = _error(register_version(ci_client, model_bytes, sample_dataset=dataset), 400)
        assert error["code"] == "feature_mismatch"
        assert "income" in error["message"]

    def test_bad_metadata_names_the_field(self, ci_client, model, model_bytes):
        error = _error(register_version(ci_client, model_bytes, version="v1"), 400)
        assert "version" in error["fields"]
        upload = SimpleUploadedFile("m.skops", model_bytes)
        response = ci_client.post(
            reverse("v1:model-versions", args=["credit-scoring"]),
            {"artifact": upload, "metadata": "{not json"},
            format="multipart",
        )
        assert "metadata" in _error(response, 400)["fields"]


def test_a_version_never_changes_its_bytes(ci_client, model, model_bytes, other_model_bytes):
    assert register_version(ci_client, model_bytes).status_code == 201
    assert register_version(ci_client, model_bytes).status_code == 200
    error = _error(register_version(ci_client, other_model_bytes), 409)
    assert error["code"] == "conflict"
    assert ModelVersion.objects.count() == 1


class TestBadDatasets:
    def test_a_declared_column_is_missing(self, ci_client, applicants):
        error = _error(register_dataset(ci_client, applicants.drop(columns=["income"])), 400)
        assert "columns.income" in error["fields"]

    def test_a_non_binary_target(self, ci_client, applicants):
        frame = applicants.copy()
        frame.loc[:5, "default"] = 2
        error = _error(register_dataset(ci_client, frame), 400)
        assert "columns.default" in error["fields"]

    def test_a_bad_schema_declaration(self, ci_client, applicants):
        error = _error(register_dataset(ci_client, applicants, schema={**SCHEMA, "task": "clustering"}), 400)
        assert "schema.task" in error["fields"]

    def test_oversize(self, ci_client, applicants, settings):
        settings.MAX_DATASET_BYTES = 50
        assert _error(register_dataset(ci_client, applicants), 413)["code"] == "too_large"


class TestIdempotency:
    def test_a_retry_replays_the_first_response_and_creates_nothing(self, ci_client):
        body = {"name": "credit-scoring", "risk_tier": "low"}
        first = ci_client.post(reverse("v1:models"), body, format="json", headers={"Idempotency-Key": "build-41"})
        again = ci_client.post(reverse("v1:models"), body, format="json", headers={"Idempotency-Key": "build-41"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert RegisteredModel.objects.count() == 1

    def test_the_same_key_for_another_request_is_refused(self, ci_client):
        ci_client.post(
            reverse("v1:models"), {"name": "a", "risk_tier": "low"}, format="json", headers={"Idempotency-Key": "k"}
        )
        response = ci_client.post(
            reverse("v1:models"), {"name": "b", "risk_tier": "low"}, format="json", headers={"Idempotency-Key": "k"}
        )
        assert _error(response, 422)["code"] == "idempotency_key_reused"
        assert RegisteredModel.objects.count() == 1

    def test_a_failed_request_is_not_remembered(self, ci_client):
        headers = {"Idempotency-Key": "k2"}
        bad = ci_client.post(reverse("v1:models"), {"name": "a"}, format="json", headers=headers)
        assert bad.status_code == 400
        good = ci_client.post(reverse("v1:models"), {"name": "a", "risk_tier": "low"}, format="json", headers=headers)
        assert good.status_code == 201  # the failure left nothing behind, so the corrected retry runs
        assert RegisteredModel.objects.count() == 1

    def test_an_upload_retry_creates_one_version(self, ci_client, model, model_bytes):
        headers = {"Idempotency-Key": "upload-1"}
        first = register_version(ci_client, model_bytes, headers=headers)
        again = register_version(ci_client, model_bytes, headers=headers)
        assert first.json() == again.json()
        assert ModelVersion.objects.count() == 1


ENDPOINTS = [
    ("post", "v1:models", []),
    ("get", "v1:models", []),
    ("post", "v1:datasets", []),
    ("post", "v1:model-versions", ["credit-scoring"]),
    ("post", "v1:approval-request-submit", ["credit-scoring", "1.0.0"]),
    ("get", "v1:gate", ["credit-scoring", "1.0.0"]),
    ("post", "v1:stage-change", ["credit-scoring", "1.0.0"]),
    ("post", "v1:model-rollback", ["credit-scoring"]),
    ("post", "v1:deployments", ["credit-scoring", "1.0.0"]),
    ("post", "v1:approval-decide", [1]),
    ("get", "v1:approval-requests", []),
    ("get", "v1:policies", []),
]


@pytest.mark.parametrize(("method", "name", "args"), ENDPOINTS)
def test_anonymous_callers_get_401(anon_client, method, name, args):
    assert getattr(anon_client, method)(reverse(name, args=args)).status_code == 401


@pytest.mark.parametrize(("method", "name", "args"), ENDPOINTS)
def test_people_without_a_role_get_403(client_as, outsider, method, name, args):
    assert getattr(client_as(outsider), method)(reverse(name, args=args)).status_code == 403


@pytest.mark.parametrize(("method", "name", "args"), [e for e in ENDPOINTS if e[0] == "post"])
def test_auditors_change_nothing(client_as, auditor, method, name, args):
    response = client_as(auditor).post(reverse(name, args=args), {}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "name", "args"), [e for e in ENDPOINTS if e[0] == "get"])
def test_every_role_reads_the_registry(client_as, auditor, method, name, args, model):
    response = client_as(auditor).get(reverse(name, args=args), {"stage": "production", "sha256": "0" * 64})
    assert response.status_code in (200, 409)


def test_the_admin_lets_an_officer_review_requests(client, officer):
    from tests.factories import PASSWORD

    client.login(username="officer", password=PASSWORD)
    assert client.get("/admin/registry/approvalrequest/").status_code == 200
    assert client.get("/admin/registry/modelversion/").status_code == 200


def test_csv_upload_is_streamed_to_its_content_address(ci_client, applicants, settings):
    response = register_dataset(ci_client, applicants)
    sha = response.json()["sha256"]
    stored = settings.DATASET_ROOT / sha[:2] / sha[2:4] / sha
    assert stored.read_bytes() == applicants.to_csv(index=False).encode()
    assert not any(p.name.startswith(".incoming-") for p in settings.DATASET_ROOT.iterdir())
    assert io.BytesIO(stored.read_bytes()).getbuffer().nbytes == response.json()["size"]

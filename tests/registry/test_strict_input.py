"""Unknown fields are refused across the API with a 400 naming each of them, and nothing is written:
a key the service does not read (`tagz`, `expires_in_days`, a lineage key) never vanishes silently."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audits.models import AuditEvent
from registry.models import Dataset, ModelVersion, RegisteredModel
from tests.registry_fixtures import (
    SCHEMA,
    csv_upload,
    register_model,
    register_version,
    request_approval,
)

pytestmark = pytest.mark.django_db
V1 = ["credit-scoring", "1.0.0"]
DEPLOYMENT = {"environment": "prod-eu", "strategy": "canary", "traffic_percent": "5"}
WAIVER = {"requirement": "bias_audit", "justification": "Reviewed with legal."}


def _refused(response, *fields) -> dict:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(fields) <= set(error["fields"]), error
    for field in fields:
        assert error["fields"][field][0].startswith("Unknown field"), error
    return error


# (persona, method, url name, url args, body, the unknown fields); each API checks its input before it
# looks anything up, so no rows are needed for the refusal.
BEFORE_ANY_LOOKUP = [
    ("ci", "post", "models", [], {"name": "m", "risk_tier": "low", "tagz": {"team": "risk"}}, ["tagz"]),
    ("ci", "post", "stage-change", V1, {"stage": "production", "force": True}, ["force"]),
    ("ci", "post", "model-rollback", ["credit-scoring"], {"reason": "canary", "to_version": "0.9"}, ["to_version"]),
    ("ci", "post", "deployments", V1, {**DEPLOYMENT, "region": "eu", "replicas": 3}, ["region", "replicas"]),
    (
        "ci",
        "post",
        "approval-request-submit",
        V1,
        {"target_stage": "staging", "expires_in_days": 30},
        ["expires_in_days"],
    ),
    ("officer", "post", "waivers", V1, {**WAIVER, "expires_in_days": 30}, ["expires_in_days"]),
    ("admin", "patch", "policy", ["high"], {"validity_day": 30}, ["validity_day"]),
    ("admin", "post", "webhooks", [], {"url": "http://127.0.0.1/h", "event_types": ["*"], "secret": "s"}, ["secret"]),
    ("admin", "post", "service-accounts", [], {"name": "ci-nightly", "roles": ["ci"]}, ["roles"]),
    ("admin", "post", "audit-erasures", [], {"subject": "user:1", "reason": "request of 2026-11-02"}, ["reason"]),
]


@pytest.fixture
def as_persona(ci_client, client_as, officer, admin_user):
    return {"ci": ci_client, "officer": client_as(officer), "admin": client_as(admin_user)}.__getitem__


@pytest.mark.parametrize(("persona", "method", "name", "args", "body", "unknown"), BEFORE_ANY_LOOKUP)
def test_an_unknown_field_is_refused_and_nothing_is_written(as_persona, persona, method, name, args, body, unknown):
    client = as_persona(persona)
    events = AuditEvent.objects.count()
    response = getattr(client, method)(reverse(f"v1:{name}", args=args), body, format="json")
    _refused(response, *unknown)
    assert AuditEvent.objects.count() == events


def test_a_misspelt_field_is_named_with_what_was_meant(ci_client):
    error = _refused(register_model(ci_client, intended_uses="pre-screening"), "intended_uses")
    assert error["fields"] == {"intended_uses": ["Unknown field; did you mean intended_use?"]}
    assert error["message"] == "intended_uses: Unknown field; did you mean intended_use?"
    assert not RegisteredModel.objects.exists()


def test_an_unknown_field_is_refused_beside_the_other_errors(ci_client):
    error = _refused(ci_client.post(reverse("v1:models"), {"tagz": {}}, format="json"), "tagz")
    assert {"name", "risk_tier", "tagz"} == set(error["fields"])


@pytest.fixture
def model(ci_client):
    assert register_model(ci_client).status_code == 201


def test_unknown_metadata_of_a_version_is_refused(ci_client, model, model_bytes):
    error = _refused(register_version(ci_client, model_bytes, tagz={"team": "risk"}), "metadata.tagz")
    assert error["fields"]["metadata.tagz"] == ["Unknown field; did you mean tags?"]
    assert not ModelVersion.objects.exists()


def test_an_unknown_lineage_key_is_refused_with_its_path(ci_client, model, model_bytes):
    lineage = {"code_commit": "a1b2c3d", "pipline": "gitlab-ci", "owner_team": "risk"}
    error = _refused(register_version(ci_client, model_bytes, lineage=lineage), "metadata.lineage.pipline")
    assert set(error["fields"]) == {"metadata.lineage.pipline", "metadata.lineage.owner_team"}
    assert not ModelVersion.objects.exists()


def test_a_form_field_beside_the_artifact_and_its_metadata_is_refused(ci_client, model, model_bytes):
    upload = SimpleUploadedFile("model.skops", model_bytes, content_type="application/octet-stream")
    body = {"artifact": upload, "metadata": json.dumps({"version": "1.0.0"}), "description": "retrain"}
    response = ci_client.post(reverse("v1:model-versions", args=["credit-scoring"]), body, format="multipart")
    assert _refused(response, "description")["fields"] == {"description": ["Unknown field."]}
    assert not ModelVersion.objects.exists()


def test_a_dataset_upload_refuses_an_unknown_form_field_and_keeps_its_known_ones(ci_client, applicants):
    body = {"file": csv_upload(applicants), "name": "eval", "kind": "evaluation", "schema": json.dumps(SCHEMA)}
    _refused(
        ci_client.post(reverse("v1:datasets"), {**body, "retention_days": "30"}, format="multipart"), "retention_days"
    )
    assert not Dataset.objects.exists()
    body["file"] = csv_upload(applicants)
    assert ci_client.post(reverse("v1:datasets"), body, format="multipart").status_code == 201


def test_an_mlflow_import_refuses_unknown_fields(ci_client, model):
    body = {"version": "2.0.0", "tracking_uri": "file:///tmp/mlruns", "source": "models:/m/1", "run_id": "abc"}
    _refused(ci_client.post(reverse("v1:model-version-import", args=["credit-scoring"]), body, format="json"), "run_id")


@pytest.fixture
def vendor_version(ci_client, applicants, model):
    """A version without an artifact, known by its recorded predictions: registered quickly."""
    recorded = applicants.assign(decision=(applicants.debt_ratio > 0.5).astype(int))
    body = {
        "file": csv_upload(recorded),
        "name": "recorded",
        "kind": "evaluation",
        "schema": json.dumps({**SCHEMA, "prediction": "decision"}),
    }
    dataset = ci_client.post(reverse("v1:datasets"), body, format="multipart").json()
    metadata = {"metadata": json.dumps({"version": "1.0.0", "sample_dataset": dataset["id"]})}
    assert ci_client.post(reverse("v1:model-versions", args=["credit-scoring"]), metadata).status_code == 201
    return dataset["id"]


def test_the_apis_that_read_a_version_first_refuse_unknown_fields_too(vendor_version, ci_client, client_as, officer):
    answer = {"framework": "gdpr", "item_id": "GDPR-35-1", "answer": "met", "statement": "Signed off."}
    officer_client = client_as(officer)
    attestations = reverse("v1:attestations", args=V1)
    _refused(officer_client.post(attestations, {**answer, "expires_in_days": 90}, format="json"), "expires_in_days")
    dpia = SimpleUploadedFile("dpia.pdf", b"%PDF-1.7", content_type="application/pdf")
    multipart = {**answer, "attachments": [dpia], "attachment_note": "DPIA"}
    _refused(officer_client.post(attestations, multipart, format="multipart"), "attachment_note")
    reports = reverse("v1:report-request", args=V1)
    _refused(officer_client.post(reports, {"scope": "gdpr", "format": "pdf"}, format="json"), "format")
    evidence = reverse("v1:evidence-request", args=V1)
    body = {"kind": "bias_audit", "dataset": vendor_version, "thresholds": {"min": 0.8}}
    _refused(ci_client.post(evidence, body, format="json"), "thresholds")
    request_id = request_approval(ci_client).json()["id"]
    decide = reverse("v1:approval-decide", args=[request_id])
    _refused(officer_client.post(decide, {"verdict": "approve", "valid_days": 30}, format="json"), "valid_days")
    assert not AuditEvent.objects.filter(action__in=["attestation.answered", "approval.decided"]).exists()


def test_an_operation_that_reads_no_body_refuses_one(vendor_version, ci_client):
    request_id = request_approval(ci_client).json()["id"]
    withdraw = reverse("v1:approval-withdraw", args=[request_id])
    _refused(ci_client.post(withdraw, {"reason": "superseded"}, format="json"), "reason")
    assert ci_client.get(reverse("v1:approval-request", args=[request_id])).json()["status"] == "pending"
    assert ci_client.post(withdraw, {}, format="json").status_code == 200

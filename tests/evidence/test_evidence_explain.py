"""Explanations as evidence jobs, and approvals that wait for the evidence their policy names."""

import json
import warnings

import numpy as np
import pytest
from django.urls import reverse

from evidence import explain
from evidence.models import EvidenceJob
from evidence.runner import run_job
from registry.models import ApprovalPolicy, ApprovalRequest, ModelVersion
from tests.registry_fixtures import FEATURES, SCHEMA, decide, register_dataset, register_model, register_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(ci_client, applicants, model_bytes):
    register_model(ci_client)
    dataset = register_dataset(ci_client, applicants).json()
    assert register_version(ci_client, model_bytes, sample_dataset=dataset["id"]).status_code == 201
    return dataset


def test_an_explanation_job_gives_importance_charts_and_lime_agreement(
    ci_client, version, django_capture_on_commit_callbacks
):
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = ci_client.post(url, {"kind": "explanation", "dataset": version["id"]}, format="json").json()["id"]
    job = EvidenceJob.objects.get(pk=job_id)
    assert (job.status, job.verdict) == ("succeeded", "done"), job.error
    result = job.result
    assert result["choice"]["kind"] == "linear"
    assert result["additivity"]["passed"] is True
    assert {item["feature"] for item in result["importance"]} == set(FEATURES)
    assert -1 <= result["lime"]["agreement"]["summary"]["mean"] <= 1
    for chart in ("importance", "beeswarm"):
        response = ci_client.get(reverse("v1:evidence-chart", args=[job.pk, chart]))
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    progress = ci_client.get(reverse("v1:evidence-job", args=[job.pk])).json()["progress"]
    assert progress["done"] == progress["total"] > 0


def test_approval_waits_for_the_evidence_and_then_proceeds(
    ci_client, client_as, officer, officer2, version, django_capture_on_commit_callbacks
):
    ApprovalPolicy.objects.update(requires_model_cards=False)
    url = reverse("v1:approval-request-submit", args=["credit-scoring", "1.0.0"])
    with django_capture_on_commit_callbacks(execute=True):
        request_id = ci_client.post(url, {"target_stage": "production"}, format="json").json()["id"]
    kinds = sorted(EvidenceJob.objects.values_list("kind", "status"))
    assert kinds == [("bias_audit", "succeeded"), ("explanation", "succeeded")]
    progress = ci_client.get(reverse("v1:approval-request", args=[request_id])).json()["progress"]["evidence"]
    assert {item["requirement"]: item["status"] for item in progress} == {"explanation": "done", "bias_audit": "done"}
    first = decide(client_as(officer), request_id).json()
    assert set(first["evidence_digests"]) == {"explanation", "bias_audit"}
    decide(client_as(officer2), request_id)
    assert ApprovalRequest.objects.get(pk=request_id).status == "approved"


def test_a_vendor_version_with_recorded_predictions_fails_its_explanation_for_the_true_reason(ci_client, applicants):
    """A version registered without an artifact, on a dataset that records its predictions: nothing can
    be asked about other inputs, and the job says exactly that (not that the predictions are missing)."""
    register_model(ci_client)
    recorded = applicants.assign(vendor_score=(applicants.debt_ratio > 0.5).astype(int))
    dataset = register_dataset(ci_client, recorded, {**SCHEMA, "prediction": "vendor_score"}).json()
    body = {"metadata": json.dumps({"version": "1.0.0", "sample_dataset": dataset["id"]})}
    assert (
        ci_client.post(reverse("v1:model-versions", args=["credit-scoring"]), body, format="multipart").status_code
        == 201
    )
    version = ModelVersion.objects.get(model__name="credit-scoring", version="1.0.0")
    assert version.artifact is None
    # The request refuses a version without an artifact; a job that reaches a worker anyway must fail honestly.
    job = EvidenceJob.objects.create(
        kind="explanation",
        version=version,
        dataset_id=dataset["id"],
        requested_by="ci",
        dataset_sha256=dataset["sha256"],
    )

    assert run_job(job.pk) == "failed"

    job.refresh_from_db()
    assert job.error == f"{explain.NOT_EXPLAINABLE}: {explain.RECORDED_ONLY}"
    assert job.error.startswith("not explainable: explanations need a model that can be queried")


@pytest.fixture(scope="session")
def onnx_network_bytes(applicants) -> bytes:
    """A neural network converted by skl2onnx without a ZipMap: its classes are only in the graph's label table."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = applicants[FEATURES].to_numpy(np.float32)
    network = make_pipeline(StandardScaler(), MLPClassifier((8,), max_iter=300, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a small MLP stops before it converges; irrelevant here
        network.fit(X, applicants["default"])
    return to_onnx(network, X[:1], options={MLPClassifier: {"zipmap": False}}).SerializeToString()


def test_an_onnx_neural_network_is_explained_by_the_model_agnostic_explainers(
    ci_client, applicants, onnx_network_bytes, settings, django_capture_on_commit_callbacks
):
    settings.EXPLAIN_MAX_ROWS = 100  # the permutation explainer asks the network about each row 70 times
    register_model(ci_client)
    dataset = register_dataset(ci_client, applicants).json()
    registered = register_version(ci_client, onnx_network_bytes, sample_dataset=dataset["id"])
    assert registered.status_code == 201, registered.json()
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = ci_client.post(url, {"kind": "explanation", "dataset": dataset["id"]}, format="json").json()["id"]

    job = EvidenceJob.objects.get(pk=job_id)
    assert (job.status, job.verdict) == ("succeeded", "done"), job.error
    result = job.result
    assert (result["choice"]["kind"], result["choice"]["output_space"]) == ("permutation", "probability")
    assert result["choice"]["class_label"] == 1 and "kmeans" in result["choice"]["reason"]
    assert result["additivity"]["passed"] is True
    assert {item["feature"] for item in result["importance"]} == set(FEATURES)
    assert result["lime"]["agreement"]["summary"]["rows_compared"] > 0

"""Explanations as evidence jobs, and approvals that wait for the evidence their policy names."""

import pytest
from django.urls import reverse

from evidence.models import EvidenceJob
from registry.models import ApprovalPolicy, ApprovalRequest
from tests.registry_fixtures import FEATURES, decide, register_dataset, register_model, register_version

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

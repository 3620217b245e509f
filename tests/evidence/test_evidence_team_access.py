"""Evidence belongs to the model's team: requesting it is a write on the model (its team, officers,
superusers), reading it is for the team, officers and auditors. Another team's jobs are absent (404), not
refused, so a listing does not tell which exist."""

import pytest
from django.urls import reverse

from evidence.models import EvidenceJob
from registry.models import Dataset, ModelVersion
from tests.registry_fixtures import finished_bias_audit, register_dataset

pytestmark = pytest.mark.django_db


def _request(client):
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    ours = Dataset.objects.get(registered_by__username="svc-ci-main").pk
    return client.post(url, {"kind": "bias_audit", "dataset": ours}, format="json")


def test_another_team_may_not_request_evidence_on_the_model(
    registered, client_as, other_team_scientist, other_team_ci_client, requester, officer
):
    for refused in (_request(client_as(other_team_scientist)), _request(other_team_ci_client)):
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert not EvidenceJob.objects.exists()
    assert _request(client_as(requester)).status_code == 202
    assert _request(client_as(officer)).status_code == 202


def test_evidence_is_read_by_the_team_officers_and_auditors_only(
    registered, client_as, requester, officer, auditor, other_team_scientist
):
    job = finished_bias_audit(ModelVersion.objects.get(version="1.0.0"))
    detail = reverse("v1:evidence-job", args=[job.pk])
    for reader in (requester, officer, auditor):
        assert client_as(reader).get(detail).status_code == 200
        assert [row["id"] for row in client_as(reader).get(reverse("v1:evidence-jobs")).json()["results"]] == [job.pk]
    other = client_as(other_team_scientist)
    assert other.get(detail).status_code == 404
    assert other.get(reverse("v1:evidence-jobs")).json()["results"] == []
    assert other.get(reverse("v1:evidence-chart", args=[job.pk, "selection_rate"])).status_code == 404


def test_another_teams_data_set_is_no_input_to_evidence(
    registered, applicants, client_as, requester, other_team_ci_client
):
    theirs = register_dataset(other_team_ci_client, applicants, name="their-applicants").json()["id"]
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    refused = client_as(requester).post(url, {"kind": "bias_audit", "dataset": theirs}, format="json")
    assert refused.status_code == 400 and "dataset" in refused.json()["error"]["fields"]
    assert not EvidenceJob.objects.exists()

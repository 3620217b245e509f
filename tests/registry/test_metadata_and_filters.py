"""Descriptions and tags are editable metadata on the native API (audited, never the artifact), and the
model and version lists filter by stage, risk tier and text."""

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from registry.models import ModelVersion
from tests.registry_fixtures import register_model, register_version

pytestmark = pytest.mark.django_db

VERSION_URL = reverse("v1:model-version", args=["credit-scoring", "1.0.0"])


def test_a_version_description_and_tags_are_edited_and_audited(ci_client, registered):
    before = ModelVersion.objects.get()
    response = ci_client.patch(
        VERSION_URL, {"description": "Retrained", "tags": {"data_version": "v2.1"}}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["description"] == "Retrained"
    assert response.json()["tags"]["data_version"] == "v2.1"
    removed = ci_client.patch(VERSION_URL, {"tags": {"data_version": None}}, format="json")
    assert "data_version" not in removed.json()["tags"]
    after = ModelVersion.objects.get()
    assert (after.artifact_id, after.stage, after.version) == (before.artifact_id, before.stage, before.version)
    events = AuditEvent.objects.filter(action="model_version.metadata_changed")
    assert events.count() == 2


def test_an_edit_that_changes_nothing_records_nothing(ci_client, registered):
    ci_client.patch(VERSION_URL, {"description": ""}, format="json")
    assert not AuditEvent.objects.filter(action="model_version.metadata_changed").exists()


def test_metadata_edits_refuse_unknown_fields_and_missing_tags(ci_client, registered):
    unknown = ci_client.patch(VERSION_URL, {"stage": "production"}, format="json")
    assert unknown.status_code == 400
    assert "stage" in unknown.json()["error"]["fields"]
    missing = ci_client.patch(VERSION_URL, {"tags": {"absent": None}}, format="json")
    assert missing.status_code == 404
    assert "tags.absent" in missing.json()["error"]["fields"]


def test_only_those_who_register_may_edit(client_as, auditor, officer, registered):
    for person in (auditor, officer):
        response = client_as(person).patch(VERSION_URL, {"description": "mine"}, format="json")
        assert response.status_code == 403
    assert ModelVersion.objects.get().description == ""


def test_a_model_description_and_tags_are_edited(ci_client, registered, client_as, auditor):
    url = reverse("v1:model", args=["credit-scoring"])
    response = ci_client.patch(url, {"description": "Pre-screening", "tags": {"team": "risk"}}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["description"], response.json()["tags"]) == ("Pre-screening", {"team": "risk"})
    assert AuditEvent.objects.filter(action="model.metadata_changed").count() == 1
    assert client_as(auditor).patch(url, {"description": "x"}, format="json").status_code == 403


@pytest.fixture
def two_models(ci_client, model_bytes, other_model_bytes, registered):
    assert register_model(ci_client, name="fraud-detection", tier="high", description="Card fraud").status_code == 201
    assert register_version(ci_client, other_model_bytes, version="2.0.0", description="Shadow run").status_code == 201
    ModelVersion.objects.filter(version="2.0.0").update(stage="archived")


def test_model_list_filters_by_risk_tier_stage_and_text(ci_client, two_models):
    names = lambda **query: [m["name"] for m in ci_client.get(reverse("v1:models"), query).json()["results"]]  # noqa: E731
    assert names(risk_tier="high") == ["fraud-detection"]
    assert names(stage="archived") == ["credit-scoring"]
    assert names(search="card") == ["fraud-detection"]
    assert names() == ["credit-scoring", "fraud-detection"]
    bad = ci_client.get(reverse("v1:models"), {"risk_tier": "extreme"})
    assert bad.status_code == 400 and "risk_tier" in bad.json()["error"]["fields"]


def test_version_list_filters_by_stage_risk_tier_and_text(ci_client, two_models):
    url = reverse("v1:model-versions", args=["credit-scoring"])
    versions = lambda **query: [v["version"] for v in ci_client.get(url, query).json()["results"]]  # noqa: E731
    assert versions(stage="archived") == ["2.0.0"]
    assert versions(stage="none") == ["1.0.0"]
    assert versions(search="shadow") == ["2.0.0"]
    assert versions(risk_tier="medium") == ["1.0.0", "2.0.0"]
    assert versions(risk_tier="high") == []


def test_the_filters_are_in_the_schema(ci_client):
    schema = ci_client.get(reverse("schema"), {"format": "json"}).json()
    for path in ("/api/v1/models/", "/api/v1/models/{name}/versions/"):
        names = {parameter["name"] for parameter in schema["paths"][path]["get"]["parameters"]}
        assert {"stage", "risk_tier", "search"} <= names
    assert "patch" in schema["paths"]["/api/v1/models/{name}/versions/{version}/"]
    assert not any(path.startswith("/api/2.0/") for path in schema["paths"])

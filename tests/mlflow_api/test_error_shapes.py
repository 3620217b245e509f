"""MLflow's error shape and codes for what the client sends wrong, without the client in between."""

import pytest
from django.urls import reverse

from audits.models import AuditEvent

pytestmark = pytest.mark.django_db

API = "/api/2.0/mlflow"


def test_unauthenticated_calls_are_refused_in_mlflows_shape(anon_client):
    response = anon_client.get(f"{API}/registered-models/search")
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"


def test_bad_input_names_the_field(ci_client):
    response = ci_client.post(f"{API}/registered-models/create", {"name": "credit scoring"}, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert response.json()["message"].startswith("name:")


def test_unknown_fields_are_refused(ci_client):
    response = ci_client.post(f"{API}/registered-models/create", {"name": "credit", "tagz": []}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("tagz: Unknown field")


def test_unknown_rows_do_not_exist(ci_client):
    response = ci_client.get(f"{API}/model-versions/get", {"name": "absent", "version": "1"})
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Registered Model with name=absent not found",
    }


def test_a_model_created_twice_already_exists(ci_client):
    body = {"name": "credit", "tags": [{"key": "risk_tier", "value": "low"}, {"key": "team", "value": "risk"}]}
    created = ci_client.post(f"{API}/registered-models/create", body, format="json")
    assert created.status_code == 200
    assert created.json()["registered_model"]["tags"] == [{"key": "team", "value": "risk"}]
    again = ci_client.post(f"{API}/registered-models/create", body, format="json")
    assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    assert AuditEvent.objects.filter(action="model.registered").count() == 1


def test_a_risk_tier_tag_must_be_a_tier(ci_client):
    body = {"name": "credit", "tags": [{"key": "risk_tier", "value": "extreme"}]}
    response = ci_client.post(f"{API}/registered-models/create", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("tags.risk_tier:")


def test_a_stage_must_be_one_of_mlflows(ci_client, registered):
    body = {"name": "credit-scoring", "version": "1", "stage": "Live"}
    response = ci_client.post(f"{API}/model-versions/transition-stage", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("stage:")


def test_a_native_version_has_its_mlflow_number_and_semantic_name(ci_client, registered):
    by_number = ci_client.get(f"{API}/model-versions/get", {"name": "credit-scoring", "version": "1"}).json()
    by_name = ci_client.get(f"{API}/model-versions/get", {"name": "credit-scoring", "version": "1.0.0"}).json()
    assert by_number == by_name
    assert by_number["model_version"]["version"] == "1"
    assert by_number["model_version"]["current_stage"] == "None"


def test_a_production_alias_leaves_with_the_version(ci_client, approved):
    alias = {"name": "credit-scoring", "alias": "production", "version": "1"}
    assert ci_client.post(f"{API}/registered-models/alias", alias, format="json").status_code == 200
    got = ci_client.get(f"{API}/registered-models/alias", {"name": "credit-scoring", "alias": "production"})
    assert got.json()["model_version"]["current_stage"] == "Production"
    url = reverse("v1:stage-change", args=["credit-scoring", "1.0.0"])
    assert ci_client.post(url, {"stage": "archived"}, format="json").status_code == 200
    gone = ci_client.get(f"{API}/registered-models/alias", {"name": "credit-scoring", "alias": "production"})
    assert gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    event = AuditEvent.objects.filter(action="model.alias_deleted").get()
    assert event.object_ref.startswith("registry.registeredmodel:")


def test_an_alias_name_mlflow_reserves_is_refused(ci_client, registered):
    alias = {"name": "credit-scoring", "alias": "latest", "version": "1"}
    response = ci_client.post(f"{API}/registered-models/alias", alias, format="json")
    assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_what_is_not_served_says_so_in_mlflows_shape(ci_client):
    response = ci_client.post(f"{API}/runs/create", {"experiment_id": "0"}, format="json")
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "runs and experiments stay on the tracking server" in response.json()["message"]


def test_a_staging_alias_needs_the_staging_approval(ci_client, registered):
    alias = {"name": "credit-scoring", "alias": "staging-eu", "version": "1"}
    response = ci_client.post(f"{API}/registered-models/alias", alias, format="json")
    assert (response.status_code, response.json()["error_code"]) == (403, "PERMISSION_DENIED")
    assert "no approval has been requested for staging" in response.json()["message"]
    assert not AuditEvent.objects.filter(action__startswith="model.alias").exists()

"""Import through the API from the real MLflow store of this folder's conftest, and the set-back on promotion."""

import pytest
from django.urls import reverse

from registry.models import ApprovalPolicy, ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def allowed_store(settings, mlflow_store):
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [mlflow_store.uri]
    return mlflow_store


def _import(client, uri, source="models:/credit-risk/1", version="2.0.0"):
    client.post(reverse("v1:models"), {"name": "credit-risk", "risk_tier": "low"}, format="json")
    body = {"version": version, "tracking_uri": uri, "source": source}
    return client.post(reverse("v1:model-version-import", args=["credit-risk"]), body, format="json")


def test_an_mlflow_model_becomes_a_version_with_its_lineage(ci_client, allowed_store):
    response = _import(ci_client, allowed_store.uri)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["artifact_report"]["format"] == "mlflow"
    assert body["lineage"]["mlflow_run_id"] == allowed_store.run_id
    assert body["lineage"]["mlflow_model_name"] == "credit-risk"
    assert body["lineage"]["code_commit"].startswith("3f2a9c1d")
    assert "erika" not in str(body)
    assert body["tags"]["team"] == "credit-risk"
    assert any(key.startswith("param.") for key in body["tags"])


def test_importing_the_same_model_twice_is_the_same_version(ci_client, allowed_store):
    assert _import(ci_client, allowed_store.uri).status_code == 201
    assert _import(ci_client, allowed_store.uri).status_code == 200
    assert ModelVersion.objects.count() == 1


def test_only_allowed_stores_are_opened(ci_client, mlflow_store, settings):
    settings.MLFLOW_ALLOWED_TRACKING_URIS = []
    response = _import(ci_client, mlflow_store.uri)
    assert response.status_code == 403
    assert "tracking_uri" in response.json()["error"]["fields"]


def test_an_unknown_version_is_404(ci_client, allowed_store):
    response = _import(ci_client, allowed_store.uri, source="models:/credit-risk/99")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "mlflow_not_found"


def test_promotion_sets_the_alias_back_in_mlflow(
    ci_client, client_as, officer, allowed_store, settings, django_capture_on_commit_callbacks
):
    import mlflow

    settings.MLFLOW_PRODUCTION_ALIAS = "champion"
    ApprovalPolicy.objects.update(
        approvals_required=1, requires_explanation=False, requires_bias_audit=False, requires_model_cards=False
    )
    assert _import(ci_client, allowed_store.uri).status_code == 201
    url = reverse("v1:approval-request-submit", args=["credit-risk", "2.0.0"])
    request_id = ci_client.post(url, {"target_stage": "production"}, format="json").json()["id"]
    client_as(officer).post(reverse("v1:approval-decide", args=[request_id]), {"verdict": "approve"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        promoted = ci_client.post(
            reverse("v1:stage-change", args=["credit-risk", "2.0.0"]), {"stage": "production"}, format="json"
        )
    assert promoted.status_code == 200
    client = mlflow.MlflowClient(tracking_uri=allowed_store.uri, registry_uri=allowed_store.uri)
    assert str(client.get_registered_model("credit-risk").aliases["champion"]) == "1"
    assert client.get_model_version("credit-risk", "1").tags["verity.stage"] == "production"

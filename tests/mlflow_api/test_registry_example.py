"""The registry example MLflow's users follow, run unmodified with the real client against the live service."""

import mlflow
import pytest
from django.urls import reverse
from mlflow.exceptions import MlflowException

from audits.models import AuditEvent
from registry.models import ModelVersion
from tests.registry_fixtures import decide, request_approval

NAME = "credit-scoring"


def _approve(ci_client, client_as, officer, officer2, stage: str, version: str = "1.0.0") -> None:
    response = request_approval(ci_client, version=version, stage=stage)
    assert response.status_code in (201, 202), response.json()
    for person in (officer, officer2):
        assert decide(client_as(person), response.json()["id"]).status_code == 201


def test_the_registry_example_works_and_production_waits_for_its_approval(
    mlflow_service, ci_client, client_as, officer, officer2, no_evidence_policy, settings
):
    settings.MLFLOW_API_DEFAULT_RISK_TIER = "medium"
    client = mlflow_service.client
    run_id = mlflow_service.store.run_id

    version = mlflow.register_model(f"runs:/{run_id}/model", NAME)
    client.update_model_version(NAME, version.version, description="Quarterly retrain on 2026Q3 applications")
    client.set_model_version_tag(NAME, version.version, "data_version", "v2.1")

    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage(NAME, version.version, "Staging")
    assert refused.value.error_code == "PERMISSION_DENIED"
    _approve(ci_client, client_as, officer, officer2, "staging")
    staged = client.transition_model_version_stage(NAME, version.version, "Staging")
    assert staged.current_stage == "Staging"

    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage(NAME, version.version, "Production")
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert "no approval has been requested for production" in refused.value.message
    assert reverse("v1:approval-request-submit", args=[NAME, "1.0.0"]) in refused.value.message
    assert ModelVersion.objects.get().stage == "staging"

    _approve(ci_client, client_as, officer, officer2, "production")
    promoted = client.transition_model_version_stage(NAME, version.version, "Production")
    assert promoted.current_stage == "Production"

    fetched = client.get_model_version(NAME, version.version)
    assert (fetched.version, fetched.description) == ("1", "Quarterly retrain on 2026Q3 applications")
    assert fetched.tags["data_version"] == "v2.1"
    assert fetched.run_id == run_id
    native = ci_client.get(reverse("v1:model-version", args=[NAME, "1.0.0"])).json()
    assert native["stage"] == "production"
    assert native["tags"]["data_version"] == "v2.1"
    assert native["lineage"]["mlflow_run_id"] == run_id
    assert native["artifact_report"]["format"] == "mlflow"
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions.count("model_version.metadata_changed") == 2
    assert "model_version.registered" in actions and "model.registered" in actions
    assert actions[-1] == "model_version.stage_changed"


def test_a_refused_transition_changes_nothing_and_says_what_is_missing(mlflow_service, settings):
    settings.MLFLOW_API_DEFAULT_RISK_TIER = "low"
    client = mlflow_service.client
    version = mlflow.register_model(f"runs:/{mlflow_service.store.run_id}/model", NAME)
    before = AuditEvent.objects.count()
    with pytest.raises(MlflowException) as refused:
        client.transition_model_version_stage(NAME, version.version, "Production")
    assert "credit-scoring@1.0.0 has no approved, unexpired request for production" in refused.value.message
    assert AuditEvent.objects.count() == before
    assert client.get_model_version(NAME, "1").current_stage == "None"

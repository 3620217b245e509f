"""Aliases (a production alias is a promotion), searches, downloads, refusals and who may do what, through the
real MLflow client."""

from pathlib import Path

import mlflow
import pytest
from django.urls import reverse
from mlflow.exceptions import MlflowException

from audits.models import AuditEvent
from registry.models import ModelAlias, ModelVersion, RegisteredModel
from tests.mlflow_api.conftest import mlflow_pointed_at
from tests.registry_fixtures import decide, request_approval

NAME = "credit-scoring"


@pytest.fixture
def registered(mlflow_service, settings):
    settings.MLFLOW_API_DEFAULT_RISK_TIER = "medium"
    return mlflow.register_model(f"runs:/{mlflow_service.store.run_id}/model", NAME)


def test_a_production_alias_waits_for_the_approval_then_promotes(
    mlflow_service, registered, ci_client, client_as, officer, officer2, no_evidence_policy
):
    client = mlflow_service.client
    with pytest.raises(MlflowException) as refused:
        client.set_registered_model_alias(NAME, "production", registered.version)
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert "no approval has been requested for production" in refused.value.message
    assert not ModelAlias.objects.exists()

    request_id = request_approval(ci_client, version="1.0.0", stage="production").json()["id"]
    for person in (officer, officer2):
        assert decide(client_as(person), request_id).status_code == 201
    client.set_registered_model_alias(NAME, "production", registered.version)
    assert client.get_model_version_by_alias(NAME, "production").current_stage == "Production"
    assert ModelVersion.objects.get().stage == "production"
    assert AuditEvent.objects.filter(action="model.alias_set").count() == 1


def test_an_alias_of_no_stage_is_set_read_and_deleted_freely(mlflow_service, registered):
    client = mlflow_service.client
    client.set_registered_model_alias(NAME, "challenger", registered.version)
    assert client.get_model_version_by_alias(NAME, "challenger").version == "1"
    assert client.get_registered_model(NAME).aliases == {"challenger": "1"}
    client.delete_registered_model_alias(NAME, "challenger")
    with pytest.raises(MlflowException) as gone:
        client.get_model_version_by_alias(NAME, "challenger")
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert ModelVersion.objects.get().stage == "none"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"model.alias_set", "model.alias_deleted"} <= actions


def test_searches_filter_by_name_and_tags(mlflow_service, registered):
    client = mlflow_service.client
    client.set_model_version_tag(NAME, "1", "data_version", "v2.1")
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'credit%'")] == [NAME]
    assert client.search_registered_models(filter_string="name = 'other'") == []
    found = client.search_model_versions(f"name = '{NAME}' and tags.data_version = 'v2.1'")
    assert [(v.name, v.version) for v in found] == [(NAME, "1")]
    assert client.search_model_versions("tags.data_version = 'v1.0'") == []
    with pytest.raises(MlflowException) as unreadable:
        client.search_model_versions("metrics.auc > 0.8")
    assert unreadable.value.error_code == "INVALID_PARAMETER_VALUE"


def test_tags_are_set_and_deleted_on_models_and_versions(mlflow_service, registered):
    client = mlflow_service.client
    client.set_registered_model_tag(NAME, "owner_team", "credit-risk")
    client.set_model_version_tag(NAME, "1", "data_version", "v2.1")
    client.delete_model_version_tag(NAME, "1", "data_version")
    client.update_registered_model(NAME, description="Consumer credit pre-screening")
    model = client.get_registered_model(NAME)
    assert model.tags == {"owner_team": "credit-risk"}
    assert model.description == "Consumer credit pre-screening"
    assert "data_version" not in client.get_model_version(NAME, "1").tags
    with pytest.raises(MlflowException) as missing:
        client.delete_model_version_tag(NAME, "1", "data_version")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert AuditEvent.objects.filter(action="model.metadata_changed").count() == 2


def test_the_model_downloads_from_its_download_uri(mlflow_service, registered, tmp_path):
    uri = mlflow_service.client.get_model_version_download_uri(NAME, "1")
    assert uri.startswith(mlflow_service.url) and uri.endswith(f"/{NAME}/1")
    local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{NAME}/1", dst_path=str(tmp_path))
    downloaded = {path.relative_to(local).as_posix() for path in Path(local).rglob("*") if path.is_file()}
    assert {"MLmodel", "model.skops"} <= downloaded
    (tmp_path / "load").mkdir()
    model = mlflow.sklearn.load_model(f"models:/{NAME}/1", dst_path=str(tmp_path / "load"))
    assert list(model.predict(mlflow_service.store.features)) == list(mlflow_service.store.predictions)


def test_deleting_and_renaming_are_refused(mlflow_service, registered):
    client = mlflow_service.client
    for call in (
        lambda: client.delete_registered_model(NAME),
        lambda: client.delete_model_version(NAME, "1"),
        lambda: client.rename_registered_model(NAME, "renamed"),
    ):
        with pytest.raises(MlflowException) as refused:
            call()
        assert refused.value.error_code == "PERMISSION_DENIED"
        assert "kept for good" in refused.value.message or "name it" in refused.value.message
    assert RegisteredModel.objects.filter(name=NAME).exists() and ModelVersion.objects.count() == 1


def _refused(call) -> str:
    with pytest.raises(MlflowException) as refused:
        call()
    return refused.value.error_code


def test_who_may_do_what_is_decided_by_role_and_token(
    mlflow_service, registered, officer_token, auditor_token, live_server
):
    store = mlflow_service.store.uri
    with mlflow_pointed_at(tracking_uri=store, registry_uri=live_server.url, token=auditor_token) as client:
        assert client.get_model_version(NAME, "1").version == "1"
        assert _refused(lambda: client.transition_model_version_stage(NAME, "1", "Archived")) == "PERMISSION_DENIED"
    with mlflow_pointed_at(tracking_uri=store, registry_uri=live_server.url, token=officer_token) as client:
        assert _refused(lambda: client.set_model_version_tag(NAME, "1", "k", "v")) == "PERMISSION_DENIED"
        assert _refused(lambda: client.create_registered_model("another-model")) == "PERMISSION_DENIED"
        # An officer may move stages: archiving needs no approval.
        assert client.transition_model_version_stage(NAME, "1", "Archived").current_stage == "Archived"
    assert "k" not in ModelVersion.objects.get().tags
    assert not RegisteredModel.objects.filter(name="another-model").exists()


def test_without_a_valid_token_nothing_is_answered(mlflow_service, live_server):
    with (
        mlflow_pointed_at(
            tracking_uri=mlflow_service.store.uri, registry_uri=live_server.url, token="vt_not-a-token"
        ) as client,
        pytest.raises(MlflowException) as refused,
    ):
        client.search_registered_models()
    assert refused.value.error_code == "UNAUTHENTICATED"


def test_the_native_api_sees_the_mlflow_edits(mlflow_service, registered, ci_client):
    mlflow_service.client.update_model_version(NAME, "1", description="Retrained")
    body = ci_client.get(reverse("v1:model-version", args=[NAME, "1.0.0"])).json()
    assert body["description"] == "Retrained"

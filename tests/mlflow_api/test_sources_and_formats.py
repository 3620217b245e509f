"""Versions the MLflow client registers are pulled from the tracking server through the registry's import:
runs:/ and models:/ sources, a model kept in a run's artifacts, and formats the service refuses."""

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from registry.models import ModelVersion

NAME = "credit-scoring"


def test_a_models_uri_version_carries_its_registered_name_and_run(mlflow_service):
    client = mlflow_service.client
    client.create_registered_model(NAME, tags={"risk_tier": "low"}, description="Consumer credit pre-screening")
    created = client.create_model_version(NAME, source="models:/credit-risk/1", tags={"team": "risk"})
    assert (created.version, created.status, created.current_stage) == ("1", "READY", "None")
    version = ModelVersion.objects.select_related("model").get()
    assert version.model.risk_tier == "low" and version.model.description == "Consumer credit pre-screening"
    assert version.lineage["mlflow_model_name"] == "credit-risk"
    assert version.lineage["mlflow_run_id"] == mlflow_service.store.run_id
    assert version.tags["team"] == "risk" and version.tags["param.C"] == "0.5"
    assert client.get_registered_model(NAME).latest_versions[0].version == "1"


def test_a_model_kept_in_the_runs_artifacts_is_pulled_as_that_run_artifact(mlflow_service):
    # MLflow 2's layout: the client sends the artifact's location, which the service reads as runs:/.
    created = mlflow.register_model(f"runs:/{mlflow_service.store.run_id}/legacy_model", NAME)
    version = ModelVersion.objects.get()
    assert created.version == "1"
    assert version.lineage["mlflow_source"] == f"runs:/{mlflow_service.store.run_id}/legacy_model"
    assert version.framework == "xgboost"


def test_a_second_registration_is_the_next_version(mlflow_service):
    first = mlflow.register_model(f"runs:/{mlflow_service.store.run_id}/model", NAME)
    second = mlflow.register_model(f"runs:/{mlflow_service.store.run_id}/model", NAME)
    assert (first.version, second.version) == ("1", "2")
    assert list(ModelVersion.objects.order_by("id").values_list("version", flat=True)) == ["1.0.0", "2.0.0"]


def test_a_refused_format_answers_why_and_registers_nothing(mlflow_service, pickled_run):
    with pytest.raises(MlflowException) as refused:
        mlflow.register_model(f"runs:/{pickled_run}/model", NAME)
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "sklearn (serialization_format=cloudpickle)" in refused.value.message
    assert "serialization_format='skops'" in refused.value.message
    assert not ModelVersion.objects.exists()


def test_a_source_outside_the_tracking_server_is_refused(mlflow_service, tmp_path):
    client = mlflow_service.client
    client.create_registered_model(NAME)
    with pytest.raises(MlflowException) as refused:
        client.create_model_version(NAME, source=tmp_path.as_uri())
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "expected models:/<name>/<version>" in refused.value.message
    with pytest.raises(MlflowException) as missing:
        client.create_model_version(NAME, source="models:/credit-risk/99")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert not ModelVersion.objects.exists()


def test_without_a_tracking_server_configured_versions_are_refused(mlflow_service, settings):
    settings.MLFLOW_API_TRACKING_URI = ""
    mlflow_service.client.create_registered_model(NAME)
    with pytest.raises(MlflowException) as refused:
        mlflow_service.client.create_model_version(NAME, source="models:/credit-risk/1")
    assert "MLFLOW_API_TRACKING_URI" in refused.value.message

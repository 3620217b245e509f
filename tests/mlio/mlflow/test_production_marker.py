import pytest
from mlflow import MlflowClient

from mlio.mlflow import MlflowImportError, set_production_marker
from tests.mlio.mlflow.conftest import MODEL_NAME


def _fresh_client(store) -> MlflowClient:
    return MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)


def test_marks_the_version_with_the_alias_and_the_tag(mlflow_store):
    set_production_marker(tracking_uri=mlflow_store.uri, model_name=MODEL_NAME, version="1")
    client = _fresh_client(mlflow_store)
    assert str(client.get_model_version_by_alias(MODEL_NAME, "production").version) == "1"
    assert client.get_model_version(MODEL_NAME, "1").tags["verity.stage"] == "production"


def test_the_alias_moves_to_the_newly_promoted_version(mlflow_store):
    for version in ("1", "2"):
        set_production_marker(
            tracking_uri=mlflow_store.uri,
            model_name=MODEL_NAME,
            version=version,
            alias="verity-live",
            tag_key="verity.promoted",
            tag_value="yes",
        )
        client = _fresh_client(mlflow_store)
        # The SQL store hands versions back as int, the REST store as str.
        assert str(client.get_model_version_by_alias(MODEL_NAME, "verity-live").version) == version
        assert client.get_model_version(MODEL_NAME, version).tags["verity.promoted"] == "yes"
    assert str(client.get_registered_model(MODEL_NAME).aliases["verity-live"]) == "2"


@pytest.mark.parametrize(("model_name", "version"), [(MODEL_NAME, "99"), ("no-such-model", "1")])
def test_an_unknown_version_is_not_found_and_nothing_is_written(mlflow_store, model_name, version):
    with pytest.raises(MlflowImportError) as caught:
        set_production_marker(tracking_uri=mlflow_store.uri, model_name=model_name, version=version, alias="ghost")
    assert caught.value.code == "not_found"
    assert caught.value.message.startswith(f"model version {model_name}/{version} not found in MLflow")
    assert "ghost" not in _fresh_client(mlflow_store).get_registered_model(MODEL_NAME).aliases


def test_an_alias_mlflow_refuses_is_rejected(mlflow_store):
    with pytest.raises(MlflowImportError) as caught:
        set_production_marker(tracking_uri=mlflow_store.uri, model_name=MODEL_NAME, version="1", alias="latest")
    assert caught.value.code == "rejected"
    assert "latest" in caught.value.message


def test_a_missing_store_is_unreachable(tmp_path):
    missing = tmp_path / "gone" / "mlflow.db"
    with pytest.raises(MlflowImportError) as caught:
        set_production_marker(tracking_uri=f"sqlite:///{missing}", model_name=MODEL_NAME, version="1")
    assert caught.value.code == "unreachable"
    assert caught.value.message.startswith("tracking URI cannot be opened")
    assert not missing.parent.exists()


@pytest.mark.parametrize("version", ["0", "one", "", "1.0"])
def test_a_version_that_is_not_a_positive_integer_is_refused(mlflow_store, version):
    with pytest.raises(MlflowImportError) as caught:
        set_production_marker(tracking_uri=mlflow_store.uri, model_name=MODEL_NAME, version=version)
    assert caught.value.code == "bad_argument"

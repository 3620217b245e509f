import pytest

from mlio.mlflow import MlflowImportError, import_model
from tests.mlio.mlflow.conftest import MODEL_NAME, PENDING_MODEL_NAME


def _refusal(tracking_uri: str, source: str, workdir) -> MlflowImportError:
    with pytest.raises(MlflowImportError) as caught:
        import_model(tracking_uri=tracking_uri, source=source, workdir=workdir)
    return caught.value


@pytest.mark.parametrize(
    ("source", "subject"),
    [
        (f"models:/{MODEL_NAME}/99", f"model version {MODEL_NAME}/99"),
        ("models:/no-such-model/1", "model version no-such-model/1"),
        (f"models:/{MODEL_NAME}@retired", f"registered model {MODEL_NAME} has no alias 'retired'"),
        ("models:/no-such-model@production", "registered model no-such-model"),
        (f"runs:/{'0' * 32}/model", f"run {'0' * 32}"),
    ],
)
def test_what_the_store_does_not_hold_is_not_found(mlflow_store, tmp_path, source, subject):
    refusal = _refusal(mlflow_store.uri, source, tmp_path)
    assert refusal.code == "not_found"
    assert refusal.message.startswith(subject)
    assert not any(tmp_path.iterdir())


def test_a_version_still_registering_is_not_ready(mlflow_store, tmp_path):
    refusal = _refusal(mlflow_store.uri, f"models:/{PENDING_MODEL_NAME}/1", tmp_path)
    assert refusal.code == "not_ready"
    assert refusal.message == f"model version {PENDING_MODEL_NAME}/1 is PENDING_REGISTRATION, not READY"


@pytest.mark.parametrize("path", ["notes", "notes/readme.md", "does/not/exist", "modelx"])
def test_a_run_path_without_an_mlmodel_is_no_model(mlflow_store, tmp_path, path):
    refusal = _refusal(mlflow_store.uri, f"runs:/{mlflow_store.run_id}/{path}", tmp_path)
    assert refusal.code == "no_model"
    assert refusal.message == f"runs:/{mlflow_store.run_id}/{path} holds no MLmodel file"


def test_an_unreadable_mlmodel_is_an_invalid_model(mlflow_store, tmp_path):
    refusal = _refusal(mlflow_store.uri, f"runs:/{mlflow_store.run_id}/broken_model", tmp_path)
    assert refusal.code == "invalid_model"
    assert refusal.message.startswith("MLmodel is not valid YAML")
    assert not any(tmp_path.iterdir())  # the half-done download went with the failure


def test_a_link_out_of_the_store_is_refused_before_anything_is_copied(mlflow_store, tmp_path):
    refusal = _refusal(mlflow_store.uri, f"runs:/{mlflow_store.run_id}/linked_model", tmp_path)
    assert refusal.code == "invalid_model"
    assert refusal.message == "model directory contains a symbolic link: extra.txt"
    secret = mlflow_store.secret.read_bytes()
    assert not [path for path in tmp_path.rglob("*") if path.is_file() and secret in path.read_bytes()]


@pytest.mark.parametrize("directory_exists", [False, True])
def test_a_missing_sqlite_store_is_unreachable_and_not_created(tmp_path, directory_exists):
    # Left to itself MLflow would create the directory and an empty store, then report "not found".
    missing = tmp_path / "stores" / "mlflow.db"
    if directory_exists:
        missing.parent.mkdir()
    refusal = _refusal(f"sqlite:///{missing}", f"models:/{MODEL_NAME}/1", tmp_path)
    assert refusal.code == "unreachable"
    assert refusal.message == f"tracking URI cannot be opened: SQLite database sqlite:///{missing} does not exist"
    assert not missing.exists()


def test_a_missing_file_store_is_unreachable_and_not_created(tmp_path):
    missing = tmp_path / "mlruns"
    refusal = _refusal(missing.as_uri(), f"models:/{MODEL_NAME}/1", tmp_path)
    assert refusal.code == "unreachable"
    assert refusal.message.startswith("tracking URI cannot be opened: MLflow file store directory file://")
    assert not missing.exists()


def test_an_empty_tracking_uri_does_not_fall_back_to_the_process_wide_one(tmp_path, decoy_db):
    refusal = _refusal("  ", f"models:/{MODEL_NAME}/1", tmp_path)
    assert (refusal.code, refusal.message) == ("unreachable", "tracking URI cannot be opened: it is empty")
    assert not decoy_db.exists()


def test_a_file_that_is_not_a_database_is_unreachable(tmp_path):
    bogus = tmp_path / "mlflow.db"
    bogus.write_bytes(b"this is not SQLite" * 100)
    refusal = _refusal(f"sqlite:///{bogus}", f"models:/{MODEL_NAME}/1", tmp_path)
    assert refusal.code == "unreachable"
    assert refusal.message.startswith(f"tracking URI cannot be opened: sqlite:///{bogus} (")


def test_credentials_in_the_tracking_uri_stay_out_of_the_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # nothing listens on port 1: fail at once
    refusal = _refusal("http://bob:hunter2@127.0.0.1:1", f"models:/{MODEL_NAME}/1", tmp_path)
    assert refusal.code == "unreachable"
    assert "127.0.0.1:1" in refusal.message
    assert "hunter2" not in refusal.message and "bob" not in refusal.message

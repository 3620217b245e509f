import dataclasses
import hashlib
import json
import zipfile
from datetime import datetime

import mlflow
import pytest
import sklearn
import xgboost
from mlflow import MlflowClient

from mlio.mlflow import ZIP_TIMESTAMP, ImportedModel, import_model
from tests.mlio.mlflow.conftest import GIT_COMMIT, MODEL_NAME, PERSON


def _import(store, source: str, workdir) -> ImportedModel:
    workdir.mkdir(parents=True, exist_ok=True)
    return import_model(tracking_uri=store.uri, source=source, workdir=workdir)


def _sha256(imported: ImportedModel) -> str:
    return hashlib.sha256(imported.zip_path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def by_version(mlflow_store, tmp_path_factory) -> ImportedModel:
    return _import(mlflow_store, f"models:/{MODEL_NAME}/1", tmp_path_factory.mktemp("by-version"))


@pytest.fixture(scope="module")
def by_run(mlflow_store, tmp_path_factory) -> ImportedModel:
    return _import(mlflow_store, f"runs:/{mlflow_store.run_id}/model", tmp_path_factory.mktemp("by-run"))


def test_version_import_carries_the_runs_params_latest_metrics_and_user_tags(mlflow_store, by_version):
    assert by_version.run_id == mlflow_store.run_id
    assert by_version.experiment_id == mlflow_store.experiment_id
    assert by_version.params == {"C": "0.5", "max_iter": "200"}
    assert by_version.metrics == {"auc": 0.87, "log_loss": 0.42}
    assert by_version.tags == {"team": "credit-risk", "purpose": "quarterly-review"}


def test_flavors_framework_and_signature_come_from_the_mlmodel(by_version):
    assert by_version.flavors == ["python_function", "sklearn"]
    assert by_version.framework == "sklearn"
    assert by_version.framework_version == sklearn.__version__
    assert by_version.flavor_config["sklearn"]["serialization_format"] == "skops"
    assert [column["name"] for column in by_version.signature["inputs"]] == ["income", "debt_ratio"]
    assert by_version.signature["outputs"][0]["type"] == "tensor"


def test_lineage_names_the_run_registration_code_and_datasets(mlflow_store, by_version):
    run = MlflowClient(tracking_uri=mlflow_store.uri).get_run(mlflow_store.run_id)
    lineage = by_version.lineage
    assert lineage["mlflow_source"] == f"models:/{MODEL_NAME}/1"
    assert (lineage["mlflow_model_name"], lineage["mlflow_model_version"]) == (MODEL_NAME, "1")
    assert lineage["mlflow_run_id"] == mlflow_store.run_id
    assert lineage["mlflow_run_name"] == run.info.run_name
    assert lineage["mlflow_experiment_id"] == mlflow_store.experiment_id
    assert lineage["mlflow_logged_model_id"] == mlflow_store.logged_model_id
    assert lineage["code_commit"] == GIT_COMMIT
    assert lineage["code_repository"] == "https://git.example.org/risk/credit.git"  # the token is gone
    assert (lineage["code_branch"], lineage["code_source_name"]) == ("main", "train.py")
    assert lineage["run_start_time"].endswith("Z") and lineage["run_end_time"].endswith("Z")
    assert datetime.fromisoformat(lineage["run_start_time"]).timestamp() * 1000 == run.info.start_time
    assert datetime.fromisoformat(lineage["run_end_time"]).timestamp() * 1000 == run.info.end_time


def test_lineage_lists_the_logged_datasets(mlflow_store, by_version):
    run = MlflowClient(tracking_uri=mlflow_store.uri).get_run(mlflow_store.run_id)
    digests = {entry.dataset.name: entry.dataset.digest for entry in run.inputs.dataset_inputs}
    datasets = {entry["name"]: entry for entry in by_version.lineage["datasets"]}
    assert datasets["credit-train"] == {
        "name": "credit-train",
        "digest": digests["credit-train"],
        "source_type": "http",
        "source": {"url": "https://data.example.org/credit/train.csv"},
        "context": "training",
    }
    assert datasets["credit-eval"]["digest"] == digests["credit-eval"]
    assert datasets["credit-eval"]["context"] == "evaluation"
    assert datasets["credit-eval"]["source"]["tags"]["mlflow.source.name"]  # the rest of the source survives


def test_personal_data_is_never_copied(mlflow_store, by_version, by_run):
    run = MlflowClient(tracking_uri=mlflow_store.uri).get_run(mlflow_store.run_id)
    sources = {entry.dataset.name: entry.dataset.source for entry in run.inputs.dataset_inputs}
    assert run.data.tags["mlflow.user"] == PERSON  # it is there to be copied...
    assert PERSON in sources["credit-eval"]  # ...twice
    for imported in (by_version, by_run):
        text = json.dumps(dataclasses.asdict(imported), default=str)
        assert PERSON not in text
        assert "mlflow.user" not in text
        with zipfile.ZipFile(imported.zip_path) as archive:
            assert all(PERSON.encode() not in archive.read(name) for name in archive.namelist())


def test_the_zip_holds_the_model_directory_with_mlmodel_at_its_root(by_version):
    with zipfile.ZipFile(by_version.zip_path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert "MLmodel" in names and "model.skops" in names
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {ZIP_TIMESTAMP}
    assert not any(name.startswith(("/", "model/", "artifacts/")) for name in names)


def test_every_way_to_the_same_model_gives_byte_identical_zips(mlflow_store, by_version, by_run, tmp_path):
    client = MlflowClient(tracking_uri=mlflow_store.uri, registry_uri=mlflow_store.uri)
    client.set_registered_model_alias(MODEL_NAME, "champion", "1")
    again = _import(mlflow_store, f"models:/{MODEL_NAME}/1", tmp_path / "again")
    by_alias = _import(mlflow_store, f"models:/{MODEL_NAME}@champion", tmp_path / "alias")
    second_version = _import(mlflow_store, f"models:/{MODEL_NAME}/2", tmp_path / "v2")
    assert again.zip_path != by_version.zip_path
    hashes = {_sha256(imported) for imported in (by_version, again, by_alias, by_run, second_version)}
    assert len(hashes) == 1
    assert by_alias.lineage["mlflow_model_version"] == "1"
    assert second_version.lineage["mlflow_model_version"] == "2"


def test_a_run_path_import_has_the_run_but_no_registration(mlflow_store, by_run):
    assert by_run.run_id == mlflow_store.run_id
    assert by_run.params == {"C": "0.5", "max_iter": "200"}
    assert by_run.lineage["mlflow_source"] == f"runs:/{mlflow_store.run_id}/model"
    assert "mlflow_model_name" not in by_run.lineage and "mlflow_model_version" not in by_run.lineage


def test_a_model_in_the_runs_own_artifacts_imports_too(mlflow_store, tmp_path):
    legacy = _import(mlflow_store, f"runs:/{mlflow_store.run_id}/legacy_model", tmp_path)
    assert legacy.flavors == ["python_function", "xgboost"]
    assert (legacy.framework, legacy.framework_version) == ("xgboost", xgboost.__version__)
    assert "mlflow_logged_model_id" not in legacy.lineage  # saved outside a run, so MLflow gave it none
    with zipfile.ZipFile(legacy.zip_path) as archive:
        assert "MLmodel" in archive.namelist()


def test_the_zipped_model_loads_and_predicts_like_the_original(mlflow_store, by_version, tmp_path, monkeypatch):
    with zipfile.ZipFile(by_version.zip_path) as archive:
        archive.extractall(tmp_path / "unzipped")
    # MLflow 3.17 gates skops loading behind the pickle switch too (skops trusts types the MLmodel lists).
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "unzipped"))
    assert (loaded.predict(mlflow_store.features) == mlflow_store.predictions).all()


def test_the_process_wide_mlflow_uri_is_never_used(mlflow_store, decoy_db, tmp_path):
    for source in (f"models:/{MODEL_NAME}/1", f"runs:/{mlflow_store.run_id}/model"):
        _import(mlflow_store, source, tmp_path / source.replace("/", "_").replace(":", ""))
    assert mlflow.get_tracking_uri() == f"sqlite:///{decoy_db}"  # the decoy really was in place
    assert not decoy_db.exists()


def test_the_download_is_cleaned_up_and_only_the_zip_stays(mlflow_store, tmp_path):
    imported = _import(mlflow_store, f"models:/{MODEL_NAME}/1", tmp_path)
    assert [path.relative_to(tmp_path) for path in tmp_path.rglob("*") if path.is_file()] == [
        imported.zip_path.relative_to(tmp_path)
    ]


def test_a_logged_model_id_imports_the_same_bytes_with_its_run(mlflow_store, by_version, tmp_path):
    # What mlflow.register_model("runs:/<id>/model") hands a registry: the MLflow 3 logged model's id.
    imported = _import(mlflow_store, f"models:/{mlflow_store.logged_model_id}", tmp_path / "by-id")
    assert imported.run_id == mlflow_store.run_id
    assert imported.params == by_version.params
    assert _sha256(imported) == _sha256(by_version)

"""A real MLflow store (SQLite tracking and registry, file artifacts) built once for these tests.

MLflow's fluent logging API only talks to the process-wide tracking URI, so the store is filled
with that URI pointed at it; afterwards, and around every test, the process-wide URI points at a
decoy database that must never come into existence: the bridge has to pass its URIs explicitly.
"""

import contextlib
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import numpy as np
import pandas as pd
import pytest

MODEL_NAME = "credit-risk"
PENDING_MODEL_NAME = "credit-risk-pending"
# Stands in for the login MLflow records as mlflow.user: personal data the import must drop.
PERSON = "erika.mustermann"
GIT_COMMIT = "3f2a9c1d4b5e6f708192a3b4c5d6e7f809102a3b"
FEATURES = ["income", "debt_ratio"]
RUN_TAGS = {
    "team": "credit-risk",
    "purpose": "quarterly-review",
    "mlflow.source.git.commit": GIT_COMMIT,
    "mlflow.source.git.repoURL": "https://ci-bot:s3cret-token@git.example.org/risk/credit.git",
    "mlflow.source.git.branch": "main",
    "mlflow.source.name": "train.py",
}


@dataclass(frozen=True)
class Store:
    uri: str
    root: Path
    run_id: str
    experiment_id: str
    logged_model_id: str
    features: pd.DataFrame
    predictions: np.ndarray
    secret: Path


@contextlib.contextmanager
def global_mlflow_uri(uri: str) -> Iterator[None]:
    import mlflow

    with pytest.MonkeyPatch.context() as patch:
        # set_*_uri also export MLFLOW_*_URI; the patch puts the environment back afterwards.
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("MLFLOW_REGISTRY_URI", uri)
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)


@pytest.fixture(scope="session")
def decoy_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("decoy") / "process-wide.db"


@pytest.fixture(autouse=True)
def _process_wide_uri_is_a_decoy(decoy_db) -> Iterator[None]:
    with global_mlflow_uri(f"sqlite:///{decoy_db}"):
        yield


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> Store:
    return make_store(tmp_path_factory)


def make_store(tmp_path_factory) -> Store:
    """Builds the store (tests/mlflow_api uses one too, for the MLflow client's tracking side)."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root}/mlflow.db"
    # MLflow's own deprecation and schema hints about the toy data are noise here.
    with pytest.MonkeyPatch.context() as patch, global_mlflow_uri(uri), warnings.catch_warnings(action="ignore"):
        # getpass reads these first: the run's mlflow.user (and a code dataset source) get PERSON.
        patch.setenv("LOGNAME", PERSON)
        patch.setenv("USER", PERSON)
        return _fill_store(uri, root)


def _credit_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"income": rng.normal(50, 15, rows).round(2), "debt_ratio": rng.uniform(0, 1, rows).round(3)})
    frame["default"] = ((frame.debt_ratio * 2 - frame.income / 50 + rng.normal(0, 0.3, rows)) > 0.3).astype(int)
    return frame


def _fill_store(uri: str, root: Path) -> Store:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment_id = client.create_experiment("verity-import", artifact_location=root.as_uri() + "/artifacts")
    train, evaluation = _credit_frame(80, seed=7), _credit_frame(30, seed=8)
    with mlflow.start_run(experiment_id=experiment_id, tags=RUN_TAGS) as run:
        model, model_id = _log_sklearn_model(train, evaluation)
        _log_non_models(root)
    # A second version registered from the plain artifact location, as MLflow 2 clients did.
    location = client.get_logged_model(model_id).artifact_location
    client.create_model_version(MODEL_NAME, source=location, run_id=run.info.run_id)
    _register_pending_version(client, root / "mlflow.db", location, run.info.run_id)
    secret = _plant_linked_model(client, run.info.run_id, root)
    features = evaluation[FEATURES]
    return Store(uri, root, run.info.run_id, experiment_id, model_id, features, model.predict(features), secret)


def _log_sklearn_model(train: pd.DataFrame, evaluation: pd.DataFrame):
    import mlflow
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=0.5, max_iter=200).fit(train[FEATURES], train["default"])
    mlflow.log_params({"C": 0.5, "max_iter": 200})
    mlflow.log_metric("auc", 0.91, step=0)
    mlflow.log_metric("auc", 0.87, step=1)  # later and lower: the import must take this one, not the best
    mlflow.log_metric("log_loss", 0.42)
    source = "https://data.example.org/credit/train.csv"
    mlflow.log_input(mlflow.data.from_pandas(train, source=source, name="credit-train", targets="default"), "training")
    # No source given: MLflow records the run context, mlflow.user included, as the source.
    mlflow.log_input(mlflow.data.from_pandas(evaluation, name="credit-eval", targets="default"), "evaluation")
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        serialization_format="skops",
        signature=infer_signature(train[FEATURES], model.predict(train[FEATURES])),
        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],  # skips MLflow's slow requirement inference
        registered_model_name=MODEL_NAME,
    )
    return model, info.model_id


def _log_non_models(root: Path) -> None:
    """Run artifacts that are not importable models, plus one model in MLflow 2's run-artifact layout."""
    import mlflow
    import xgboost

    mlflow.log_text("Not a model.\n", "notes/readme.md")
    mlflow.log_text("flavors: [unclosed\n", "broken_model/MLmodel")
    frame = _credit_frame(40, seed=9)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(frame[FEATURES], label=frame["default"]), 3)
    local = root / "xgb-local"
    mlflow.xgboost.save_model(booster, local, model_format="ubj", pip_requirements=["xgboost"])
    mlflow.log_artifacts(str(local), artifact_path="legacy_model")


def _register_pending_version(client, database: Path, location: str, run_id: str) -> None:
    """A version still being copied, as registries with asynchronous registration report it."""
    client.create_registered_model(PENDING_MODEL_NAME)
    client.create_model_version(PENDING_MODEL_NAME, source=location, run_id=run_id)
    # The open-source registry is synchronous, so only the database can show this state.
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(
            "UPDATE model_versions SET status = 'PENDING_REGISTRATION' WHERE name = ?", (PENDING_MODEL_NAME,)
        )


def _plant_linked_model(client, run_id: str, root: Path) -> Path:
    """A model directory in the run's artifacts with a link to a file outside the store, as a hostile store might."""
    secret = root / "secret.txt"
    secret.write_text("service-only secret\n")
    artifacts = Path(url2pathname(urlsplit(client.get_run(run_id).info.artifact_uri).path))
    linked = artifacts / "linked_model"
    shutil.copytree(artifacts / "legacy_model", linked)
    (linked / "extra.txt").symlink_to(secret)
    return secret

"""validate_artifact() end to end: the probe loads and predicts in a limited child process."""

import ctypes
import hashlib
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.tree import DecisionTreeClassifier

from mlio.acceptance import validate_artifact
from mlio.artifacts import ArtifactFormat, ArtifactRejected
from mlio.sandbox import child_environment, probe
from tests.mlio.artifacts.builders import classification

MEMORY_MB = 2048


def _validate(path: Path, **overrides):
    options = {
        "max_bytes": 2**30,
        "allow_pickle": False,
        "sample_csv": None,
        "feature_names": None,
        "timeout_s": 30,
        "memory_mb": MEMORY_MB,
    }
    return validate_artifact(path, **{**options, **overrides})


def _rejection(path: Path, **overrides) -> ArtifactRejected:
    with pytest.raises(ArtifactRejected) as caught:
        _validate(path, **overrides)
    return caught.value


def _sample(built, tmp_path: Path, columns=None) -> str:
    path = tmp_path / "sample.csv"
    rows = built.rows if columns is None else built.rows[columns]
    rows.to_csv(path, index=False)
    return str(path)


def test_an_accepted_pipeline_reports_what_the_model_is_and_predicts(artifact, tmp_path):
    built = artifact("pipeline")
    report = _validate(built.path, sample_csv=_sample(built, tmp_path))
    assert report.format == ArtifactFormat.SKOPS
    assert report.sha256 == hashlib.sha256(built.path.read_bytes()).hexdigest()
    assert report.size == built.path.stat().st_size
    assert (report.framework, report.model_class) == ("sklearn", "sklearn.pipeline.Pipeline")
    assert report.feature_names == ["f0", "f1", "f2", "f3", "region"]
    assert report.classes == [0, 1]
    assert report.has_predict_proba
    assert report.sample_predictions == len(built.rows)
    assert report.details["sample"]["first_predictions"] == built.predictions[:5].tolist()
    assert np.allclose(report.details["sample"]["first_probabilities"], built.probabilities[:5])
    assert report.to_dict()["format"] == "skops"


@pytest.mark.parametrize(
    ("name", "fmt", "framework", "flavor"),
    [
        ("xgboost_ubjson", ArtifactFormat.XGBOOST, "xgboost", None),
        ("lightgbm_multiclass", ArtifactFormat.LIGHTGBM, "lightgbm", None),
        ("onnx_forest", ArtifactFormat.ONNX, "onnx", None),
        ("mlflow_skops", ArtifactFormat.MLFLOW, "sklearn", "sklearn"),
    ],
)
def test_each_data_only_format_is_accepted_after_predicting_on_the_sample(
    artifact, tmp_path, name, fmt, framework, flavor
):
    built = artifact(name)
    report = _validate(built.path, sample_csv=_sample(built, tmp_path))
    assert (report.format, report.framework, report.flavor) == (fmt, framework, flavor)
    assert report.sample_predictions == len(built.rows)
    assert report.details["sample"]["first_predictions"] == built.predictions[:5].tolist()


def test_a_sample_missing_a_feature_column_fails_naming_it(artifact, tmp_path):
    built = artifact("random_forest")
    refusal = _rejection(built.path, sample_csv=_sample(built, tmp_path, columns=["f0", "f1", "f3"]))
    assert refusal.code == "predict_failed"
    assert "missing ['f2']" in refusal.message


def test_a_sample_with_too_few_columns_for_an_unnamed_model_fails(artifact, tmp_path):
    built = artifact("onnx_forest")
    refusal = _rejection(built.path, sample_csv=_sample(built, tmp_path, columns=["f0", "f1", "f2"]))
    assert refusal.code == "predict_failed"
    assert "3 columns; the model takes 4" in refusal.message


def test_declared_features_must_match_those_the_model_records(artifact):
    refusal = _rejection(artifact("lightgbm_binary").path, feature_names=["f0", "f1", "f2", "age"])
    assert refusal.code == "feature_mismatch"
    assert "'f3'" in refusal.message
    assert "'age'" in refusal.message


def test_pickles_load_in_the_probe_when_the_deployment_allows_them(artifact):
    report = _validate(artifact("joblib").path, allow_pickle=True)
    assert report.format == ArtifactFormat.PICKLE
    assert report.model_class == "sklearn.ensemble.RandomForestClassifier"
    # Without a sample the probe only loads.
    assert report.sample_predictions == 0
    assert "sample" not in report.details


class _Payload:
    """Pickled, it calls ``function(*args)`` when loaded: what a hostile pickle does."""

    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _hostile(tmp_path: Path, function, *args) -> Path:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_Payload(function, *args), protocol=4))
    return path


@pytest.mark.parametrize(
    ("function", "args", "signal_name"),
    [(ctypes.string_at, (0,), "SIGSEGV"), (os.abort, (), "SIGABRT")],
    ids=["segfault", "abort"],
)
def test_a_file_that_crashes_its_loader_is_reported_and_we_survive(tmp_path, function, args, signal_name):
    refusal = _rejection(_hostile(tmp_path, function, *args), allow_pickle=True)
    assert refusal.code == "crashed"
    assert signal_name in refusal.message


def test_a_model_that_crashes_scikit_learn_on_predict_is_caught_by_the_sandbox(tmp_path):
    X, y = classification()
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    state = model.tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes["left_child"][0] = 10**12
    model.tree_.__setstate__({**state, "nodes": nodes})
    crafted, sample = tmp_path / "crafted.pkl", tmp_path / "sample.csv"
    crafted.write_bytes(pickle.dumps(model))
    X.to_csv(sample, index=False)
    # As a pickle nothing checks the tree: scikit-learn follows the index and the child dies.
    assert _rejection(crafted, allow_pickle=True, sample_csv=str(sample)).code == "crashed"
    # As a skops file the tree is checked before anything predicts with it.
    skops.io.dump(model, tmp_path / "crafted.skops")
    assert _rejection(tmp_path / "crafted.skops", sample_csv=str(sample)).code == "malformed"


def test_a_probe_that_runs_too_long_is_killed(tmp_path):
    started = time.monotonic()
    refusal = _rejection(_hostile(tmp_path, time.sleep, 60), allow_pickle=True, timeout_s=3)
    assert refusal.code == "timeout"
    assert time.monotonic() - started < 15


def test_a_probe_that_needs_more_memory_than_allowed_is_stopped(tmp_path):
    refusal = _rejection(_hostile(tmp_path, bytearray, 3 * MEMORY_MB * 2**20), allow_pickle=True)
    assert refusal.code == "memory_exceeded"
    assert f"{MEMORY_MB} MB" in refusal.message


def test_a_file_that_does_not_load_reports_the_loaders_error(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"learner": {"objective": "nonsense"}, "version": [3, 2, 0]}')
    refusal = _rejection(path)
    assert refusal.code == "load_failed"
    assert "xgboost" in refusal.message.lower()


def test_the_child_checks_the_digest_it_was_given(artifact):
    built = artifact("onnx_forest")
    with pytest.raises(ArtifactRejected) as caught:
        probe(
            built.path,
            built.fmt,
            expected_sha256="f" * 64,
            allow_pickle=False,
            sample_csv=None,
            timeout_s=30,
            memory_mb=MEMORY_MB,
        )
    assert caught.value.code == "digest_mismatch"


def test_the_child_gets_no_service_secrets_and_one_thread_per_library(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://verity:secret@db/verity")
    monkeypatch.setenv("SECRET_KEY", "not-for-models")
    env = child_environment(tmp_path)
    assert "DATABASE_URL" not in env
    assert "SECRET_KEY" not in env
    assert "DJANGO_SETTINGS_MODULE" not in env
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] == "false"

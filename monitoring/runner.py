"""Runs the monitors on one production window in a worker: loads the window's rows and the version's
evaluation data (checking their digests), has the registered artifact predict the evaluation rows for the
baseline in a confined child (mlio.confinement, under the limits of the version's risk tier), and records the
result or a clear failure. A limit breach fails the window at once, for good."""

import logging

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import OperationalError

from core import evidence_store
from core.blobs import blob_path
from core.rowjobs import row_claimed, row_heartbeat
from evidence.runner import JobInputError, artifact_ref, as_positive, dataset_frame, positive_column
from mlio.artifacts import ArtifactRejected, sha256_file
from mlio.confinement import EvaluationFailed, LimitExceeded
from mlio.datasets import binary_labels, load_frame
from mlio.evaluation import predict_confined
from mlio.predictors import FeatureMismatch
from mlio.reference_profile import prediction_profile, reference_profile_for
from monitoring import performance as perf
from monitoring.models import ProductionWindow
from monitoring.monitors import Reference, Rules, Window, window_report
from monitoring.services import production_window_claim, production_window_fail, production_window_finish
from registry.models import Dataset
from registry.policies import evaluation_limits_for

log = logging.getLogger(__name__)


def run_window(window_pk: int) -> str | None:
    window = production_window_claim(window_pk)
    if window is None:
        return None  # someone else has it, or it is done: a duplicate message changes nothing
    with row_heartbeat(row_claimed(ProductionWindow, window)):  # the sweep requeues it if this worker dies
        return _run_claimed(window)


def _run_claimed(window: ProductionWindow) -> str:
    try:
        return production_window_finish(window, result=window_result(window)).status
    except OperationalError:
        ProductionWindow.objects.filter(pk=window.pk, status="running").update(status="queued")
        raise  # transient: the task retries with backoff
    except (JobInputError, ArtifactRejected, FeatureMismatch, ValueError, LimitExceeded, EvaluationFailed) as exc:
        return production_window_fail(window, message=getattr(exc, "message", None) or str(exc)).status
    except Exception as exc:  # any other failure ends the job visibly, never "running" forever
        log.exception("production window %s failed", window.pk)
        return production_window_fail(window, message=f"{type(exc).__name__}: {exc}").status


def window_result(window: ProductionWindow) -> dict:
    rows = _window_rows(window)
    reference, sources = _reference(window.version, has_scores=rows.scores is not None)
    if reference.calibrate is None:
        rows.scores = None  # no scores on the evaluation side to compare or calibrate with
    report = window_report(rows, reference, Rules.from_policy(window.policy))
    report["reference"] = {**sources, "declared_metrics": dict(window.version.metrics or {})}
    return report


def _window_rows(window: ProductionWindow) -> Window:
    schema = window.schema
    path = blob_path(settings.DATASET_ROOT, window.sha256)
    if sha256_file(path) != window.sha256:
        raise JobInputError(f"production window {window.pk} does not match its recorded SHA-256")
    columns = [*schema["features"], schema["prediction"], *[schema[k] for k in ("score", "target") if schema[k]]]
    frame = load_frame(path, window.format, columns=columns)
    return Window(
        features=frame[schema["features"]],
        predictions=_outputs(frame[schema["prediction"]], schema),
        scores=frame[schema["score"]].to_numpy(dtype=np.float64) if schema["score"] else None,
        labels=_labels(frame[schema["target"]], schema) if schema["target"] else None,
    )


def _outputs(values: pd.Series, schema: dict) -> np.ndarray:
    if schema["task"] == "binary_classification":
        return as_positive(values, schema["positive_label"])
    return values.to_numpy(dtype=np.float64)


def _labels(values: pd.Series, schema: dict) -> np.ndarray:
    if schema["task"] == "binary_classification":
        return binary_labels(values, schema["positive_label"])
    return values.to_numpy(dtype=np.float64)


def _reference(version, *, has_scores: bool) -> tuple[Reference, dict]:
    """The evaluation data as the model saw it: its predictions, scores and performance, the calibration of
    its scores, and the drift reference of its inputs (the model's newest reference dataset, else these rows)."""
    evaluation = version.evaluation_dataset
    schema = evaluation.schema
    frame = dataset_frame(evaluation)
    predictions, scores = _evaluation_outputs(version, frame, schema)
    labels = _labels(frame[schema["target"]], schema) if schema.get("target") else None
    if labels is None:
        raise JobInputError(f"evaluation dataset {evaluation.pk} has no target to measure the baseline on")
    binary = schema["task"] == "binary_classification"
    scores = scores if (binary and has_scores) else None
    if binary:
        baseline = perf.binary_performance(labels, predictions, scores)
    else:
        baseline = perf.regression_performance(labels, predictions)
    drift_profile, drift_source = _drift_profile(version, frame, schema["features"])
    reference = Reference(
        task=schema["task"],
        drift_profile=drift_profile,
        prediction_profile=prediction_profile(scores if scores is not None else predictions.astype(np.float64)),
        baseline=baseline,
        calibrate=perf.calibrator(scores, labels) if scores is not None else None,
    )
    sources = {"evaluation_dataset": evaluation.pk, "evaluation_sha256": evaluation.sha256, **drift_source}
    return reference, {**sources, "baseline": baseline}


def _evaluation_outputs(version, frame: pd.DataFrame, schema: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """The registered artifact's predictions and scores on the evaluation rows; a vendor version's recorded ones."""
    binary = schema["task"] == "binary_classification"
    if version.artifact is None:
        if not schema.get("prediction"):
            raise JobInputError("the version has no artifact and its evaluation data records no predictions")
        scores = frame[schema["score"]].to_numpy(dtype=np.float64) if schema.get("score") else None
        return _outputs(frame[schema["prediction"]], schema), scores
    limits, source = evaluation_limits_for(version)
    predicted = predict_confined(
        artifact_ref(version), frame[schema["features"]], probabilities=binary, limits=limits, source=source
    )
    predictions = _outputs(pd.Series(predicted.predictions), schema)
    scores = positive_column(predicted.probabilities, predicted.classes, schema["positive_label"]) if binary else None
    return predictions, scores


def _drift_profile(version, frame: pd.DataFrame, features: list[str]) -> tuple[dict, dict]:
    reference = (
        Dataset.objects.filter(
            model=version.model, kind=Dataset.Kind.REFERENCE, profile__has_key="drift_reference_sha256"
        )
        .order_by("-created_at")
        .first()
    )
    if reference is not None and set(features) <= set(reference.schema["features"]):
        digest = reference.profile["drift_reference_sha256"]
        profile = evidence_store.get_json(digest)
        profile = {**profile, "features": {name: profile["features"][name] for name in features}}
        return profile, {"drift_reference": "reference dataset", "reference_dataset": reference.pk}
    evaluation_rows = frame[features]
    return reference_profile_for(evaluation_rows, features), {"drift_reference": "evaluation dataset"}

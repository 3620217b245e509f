"""Runs one evidence job in a worker: loads the registered artifact and data (checking both
digests), computes with the pure modules, and records the result or a clear failure."""

import logging

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import OperationalError

from audits import evidence_store
from audits.jobs import evidence_job_claim, evidence_job_fail, evidence_job_finish, evidence_job_progress
from audits.models import EvidenceJob
from registry.artifacts import ArtifactRejected, sha256_file
from registry.datasets import binary_labels, load_frame
from registry.models_io import FeatureMismatch, RecordedPredictions, load_predictor
from registry.storage import blob_path

log = logging.getLogger(__name__)


class JobInputError(Exception):
    """The inputs cannot give this evidence; the job fails with this message."""


def dataset_frame(dataset, columns: list[str] | None = None) -> pd.DataFrame:
    path = blob_path(settings.DATASET_ROOT, dataset.sha256)
    if sha256_file(path) != dataset.sha256:
        raise JobInputError(f"dataset {dataset.pk} does not match its registered SHA-256")
    return load_frame(path, dataset.format, columns=columns)


def predictor_for(job: EvidenceJob, frame: pd.DataFrame):
    """The registered artifact, or the dataset's recorded predictions for a vendor model."""
    prediction = job.dataset.schema.get("prediction")
    if job.kind != EvidenceJob.Kind.EXPLANATION and prediction and prediction in frame:
        return RecordedPredictions(frame[prediction])
    artifact = job.version.artifact
    path = blob_path(settings.ARTIFACT_ROOT, artifact.sha256)
    return load_predictor(
        path, artifact.format, expected_sha256=artifact.sha256, allow_pickle=settings.ALLOW_PICKLE_ARTIFACTS
    )


def positive_scores(predictor, X: pd.DataFrame, positive_label) -> np.ndarray | None:
    proba = predictor.predict_proba(X)
    if proba is None or predictor.classes is None:
        return None
    classes = [str(c) for c in predictor.classes]
    return proba[:, classes.index(str(positive_label))] if str(positive_label) in classes else None


def run_job(job_pk: int) -> str | None:
    job = evidence_job_claim(job_pk)
    if job is None:
        return None  # someone else has it, or it is done: a duplicate message changes nothing
    try:
        result, verdict = COMPUTE[job.kind](job)
        return evidence_job_finish(job, result=result, verdict=verdict).status
    except OperationalError:
        EvidenceJob.objects.filter(pk=job.pk, status="running").update(status="queued")
        raise  # transient: the task retries with backoff
    except (JobInputError, ArtifactRejected, FeatureMismatch, ValueError) as exc:
        return evidence_job_fail(job, message=_message(exc)).status
    except Exception as exc:  # any other failure ends the job visibly, never "running" forever
        log.exception("evidence job %s failed", job.pk)
        return evidence_job_fail(job, message=f"{type(exc).__name__}: {exc}").status


def _message(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)


def _drift(job: EvidenceJob) -> tuple[dict, str]:
    from audits.drift import drift_report

    reference = job.reference.profile.get("drift_reference_sha256")
    if not reference:
        raise JobInputError(f"dataset {job.reference.pk} was not registered as a reference dataset")
    profile = evidence_store.get_json(reference)
    features = list(profile["features"])
    missing = [name for name in features if name not in job.dataset.schema["features"]]
    if missing:
        raise JobInputError(f"the production sample lacks reference features: {', '.join(missing)}")
    frame = dataset_frame(job.dataset, columns=features)
    evidence_job_progress(job, done=0, total=len(frame))
    report = drift_report(profile, frame, psi_alert=settings.DRIFT_PSI_ALERT, min_rows=settings.DRIFT_MIN_ROWS)
    evidence_job_progress(job, done=len(frame), total=len(frame))
    return report, report["verdict"]


def _as_positive(values, positive_label) -> np.ndarray:
    return (pd.Series(values).astype(str).to_numpy() == str(positive_label)).astype(int)


def _bias(job: EvidenceJob) -> tuple[dict, str]:
    from audits.fairness import BiasAuditInputError, bias_audit, group_metric_chart_png

    schema = job.dataset.schema
    frame = dataset_frame(job.dataset)
    evidence_job_progress(job, done=0, total=len(frame))
    predictor = predictor_for(job, frame)
    features = frame[schema["features"]]
    binary = schema["task"] == "binary_classification"
    predictions = predictor.predict(
        features if isinstance(predictor, RecordedPredictions) else predictor.align(features)
    )
    try:
        result = bias_audit(
            y_true=binary_labels(frame[schema["target"]], schema["positive_label"])
            if binary
            else frame[schema["target"]].to_numpy(),
            y_pred=_as_positive(predictions, schema["positive_label"]) if binary else predictions,
            sensitive=frame[schema["sensitive_features"]],
            task=schema["task"],
            positive_label=1,
            min_group_size=settings.BIAS_MIN_GROUP_SIZE,
            n_bootstrap=settings.BIAS_BOOTSTRAP_RESAMPLES,
            thresholds=job_thresholds(job.params, tier=job.version.model.risk_tier),
        )
    except BiasAuditInputError as exc:
        raise JobInputError(str(exc)) from exc
    evidence_job_progress(job, done=len(frame), total=len(frame))
    body = result.to_dict()
    metric = "selection_rate" if binary else "mean_prediction"
    body["charts"] = {metric: evidence_store.put(group_metric_chart_png(result, metric=metric))}
    return body, result.verdict.status


def job_thresholds(params: dict, *, tier: str):
    """The policy's thresholds recorded in the job. A value equal to the default keeps the default's
    source (the four-fifths rule for the ratio); any other is quoted as the risk tier's policy."""
    from audits.fairness import DEFAULT_THRESHOLDS as DEFAULT
    from audits.fairness import Thresholds

    given = params.get("thresholds") or {}
    ratio = float(given.get("min_selection_rate_ratio", DEFAULT.min_selection_rate_ratio))
    odds = float(given.get("max_equalized_odds_difference", DEFAULT.max_equalized_odds_difference))
    policy = f"approval policy for {tier} risk"
    return Thresholds(
        min_selection_rate_ratio=ratio,
        max_equalized_odds_difference=odds,
        min_selection_rate_ratio_source=DEFAULT.min_selection_rate_ratio_source
        if ratio == DEFAULT.min_selection_rate_ratio
        else policy,
        max_equalized_odds_difference_source=DEFAULT.max_equalized_odds_difference_source
        if odds == DEFAULT.max_equalized_odds_difference
        else policy,
    )


def _explanation(job: EvidenceJob) -> tuple[dict, str]:
    from audits import explain

    schema = job.dataset.schema
    frame = dataset_frame(job.dataset, columns=schema["features"])
    rows = frame.sample(min(len(frame), settings.EXPLAIN_MAX_ROWS), random_state=0) if len(frame) else frame
    predictor = predictor_for(job, frame)
    label = schema.get("positive_label") if schema["task"] == "binary_classification" else None
    try:
        choice = explain.choose_explainer(predictor, class_label=label, background=False)
        background = explain.summarise_background(frame) if choice.needs_background else None
        body = _explain_in_chunks(job, explain, predictor, rows, choice, background)
        body["lime"] = _lime(explain, predictor, frame, rows, choice, label, background)
    except (explain.ExplanationUnavailable, explain.ExplanationInputError) as exc:
        raise JobInputError(str(exc)) from exc
    return body, "done" if body["additivity"]["passed"] else "additivity_failed"


def _explain_in_chunks(job, explain, predictor, rows, choice, background) -> dict:
    chunks, step = [], settings.EXPLAIN_CHUNK_ROWS
    for start in range(0, max(len(rows), 1), step):
        chunks.append(explain.shap_chunk(predictor, rows.iloc[start : start + step], choice, background))
        evidence_job_progress(job, done=min(start + step, len(rows)), total=len(rows))
    body = {"choice": choice.to_dict(), **explain.merge_shap(chunks, chunks[0].feature_names)}
    values = np.concatenate([chunk.values for chunk in chunks])
    body["charts"] = {
        "importance": evidence_store.put(explain.importance_bar_png(body["importance"])),
        "beeswarm": evidence_store.put(explain.beeswarm_png(values, rows, chunks[0].feature_names)),
    }
    return body


def _lime(explain, predictor, frame, rows, choice, label, background) -> dict | None:
    """LIME on a few rows beside SHAP on the same rows: their disagreement is itself evidence."""
    picked = rows.head(settings.EXPLAIN_LIME_ROWS)
    if picked.empty:
        return None
    try:
        lime = explain.lime_rows(predictor, frame.head(2000), picked, seed=0, class_label=label)
    except explain.ExplanationUnavailable as exc:
        return {"unavailable": str(exc)}
    chunk = explain.shap_chunk(predictor, picked, choice, background)
    shap_values = pd.DataFrame(chunk.values, index=chunk.index, columns=chunk.feature_names)
    return {"rows": lime, "agreement": explain.lime_shap_agreement(lime, shap_values)}


COMPUTE = {
    EvidenceJob.Kind.DRIFT_CHECK: _drift,
    EvidenceJob.Kind.BIAS_AUDIT: _bias,
    EvidenceJob.Kind.EXPLANATION: _explanation,
}


def reference_profile_for(frame: pd.DataFrame, features: list[str]) -> dict:
    """The drift reference fixed at registration: bins and category shares of the reference data."""
    from audits.drift import reference_profile

    numeric = [
        c for c in features if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    categorical = [c for c in features if c not in numeric]
    return reference_profile(frame[features], numeric=numeric, categorical=categorical)


__all__ = ["run_job", "binary_labels", "positive_scores", "predictor_for", "dataset_frame"]

"""Runs one evidence job in a worker: loads the registered artifact and data (checking both
digests), computes with the pure modules, and records the result or a clear failure."""

import dataclasses
import io
import json
import logging

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import OperationalError, transaction

from audits.ledger.hashing import normalise
from core import evidence_store
from core.blobs import blob_path
from core.rowjobs import row_claimed, row_heartbeat
from evidence.models import EvidenceChunk, EvidenceJob
from evidence.services import (
    evidence_chunk_record,
    evidence_job_chunks_plan,
    evidence_job_claim,
    evidence_job_explainer_record,
    evidence_job_fail,
    evidence_job_finish,
    evidence_job_merge_claim,
    evidence_job_progress,
)
from mlio.artifacts import ArtifactRejected, sha256_file
from mlio.datasets import binary_labels, load_frame
from mlio.predictors import FeatureMismatch, RecordedPredictions, load_predictor

log = logging.getLogger(__name__)
BEESWARM_MAX_ROWS = 2000  # more dots only hide each other, and drawing them is the slowest part of a merge


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
    with row_heartbeat(row_claimed(EvidenceJob, job)):  # the sweep requeues it if this worker dies
        return _run_claimed(job)


def _run_claimed(job: EvidenceJob) -> str:
    try:
        evidence_job_progress(job, done=0, total=0)  # an earlier attempt's count is not this one's
        computed = COMPUTE[job.kind](job)
        if computed is None:  # sent out in chunks: the merge finishes the job
            return merge_when_complete(job) or EvidenceJob.Status.RUNNING
        result, verdict = computed
        return _finish_with_progress(job, result, verdict)
    except OperationalError:
        EvidenceJob.objects.filter(pk=job.pk, status="running").update(status="queued")
        raise  # transient: the task retries with backoff
    except (JobInputError, ArtifactRejected, FeatureMismatch, ValueError) as exc:
        return evidence_job_fail(job, message=_message(exc)).status
    except Exception as exc:  # any other failure ends the job visibly, never "running" forever
        log.exception("evidence job %s failed", job.pk)
        return evidence_job_fail(job, message=f"{type(exc).__name__}: {exc}").status


@transaction.atomic
def _finish_with_progress(job: EvidenceJob, result: dict, verdict: str) -> str:
    """The rows count as done in the transaction that records the result, never before it: until then a
    job shows done < total (evidence_job_progress says why)."""
    finished = evidence_job_finish(job, result=result, verdict=verdict)
    if finished.status == EvidenceJob.Status.SUCCEEDED:
        evidence_job_progress(finished, done=finished.progress_total, total=finished.progress_total)
    return finished.status


def _message(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)


def _drift(job: EvidenceJob) -> tuple[dict, str]:
    from evidence.drift import drift_report

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
    return report, report["verdict"]


def as_positive(values, positive_label) -> np.ndarray:
    """1 where a prediction is the positive label (compared as text, as predictors return it), 0 elsewhere."""
    return (pd.Series(values).astype(str).to_numpy() == str(positive_label)).astype(int)


def _bias(job: EvidenceJob) -> tuple[dict, str]:
    from evidence.fairness import BiasAuditInputError, bias_audit, group_metric_chart_png

    schema = job.dataset.schema
    frame = dataset_frame(job.dataset)
    evidence_job_progress(job, done=0, total=len(frame))  # the rows are loaded; done waits for the result
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
            y_pred=as_positive(predictions, schema["positive_label"]) if binary else predictions,
            sensitive=frame[schema["sensitive_features"]],
            task=schema["task"],
            positive_label=1,
            min_group_size=settings.BIAS_MIN_GROUP_SIZE,
            n_bootstrap=settings.BIAS_BOOTSTRAP_RESAMPLES,
            thresholds=job_thresholds(job.params, tier=job.version.model.risk_tier),
        )
    except BiasAuditInputError as exc:
        raise JobInputError(str(exc)) from exc
    body = result.to_dict()
    metric = "selection_rate" if binary else "mean_prediction"
    body["charts"] = {metric: evidence_store.put(group_metric_chart_png(result, metric=metric))}
    return body, result.verdict.status


def job_thresholds(params: dict, *, tier: str):
    """The policy's thresholds recorded in the job. A value equal to the default keeps the default's
    source (the four-fifths rule for the ratio); any other is quoted as the risk tier's policy."""
    from evidence.fairness import DEFAULT_THRESHOLDS as DEFAULT
    from evidence.fairness import Thresholds

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


def _explanation(job: EvidenceJob) -> tuple[dict, str] | None:
    """Up to EXPLAIN_CHUNK_ROWS rows are explained here; more are cut into chunks for all workers.

    The fan-out keeps its state in rows, not in a Celery chord: a chord needs a result backend
    (which a deployment may run without) and would carry every chunk's SHAP values through it, and
    a redelivered chunk (acks_late) could fire its callback twice. Here each chunk's values are an
    evidence blob whose digest is recorded once (evidence.services), and the last finisher merges.
    Returns None when the chunks were sent: the merge finishes the job.
    """
    from evidence import explain

    schema = job.dataset.schema
    frame = dataset_frame(job.dataset, columns=schema["features"])
    rows = frame.sample(min(len(frame), settings.EXPLAIN_MAX_ROWS), random_state=0) if len(frame) else frame
    predictor = _explained_predictor(job, frame)
    label = _explained_label(schema)
    try:
        choice = explain.choose_explainer(predictor, class_label=label, background=False)
        background = explain.summarise_background(frame) if choice.needs_background else None
        if len(rows) > settings.EXPLAIN_CHUNK_ROWS:
            _fan_out(job, rows, background)
            _record_explainer(job, explain, predictor, frame, rows, choice, label, background)
            return None
        evidence_job_progress(job, done=0, total=len(rows))
        chunk = explain.shap_chunk(predictor, rows, choice, background)
        lime = _lime(explain, predictor, frame, rows, choice, label, background)
    except explain.ExplanationUnavailable as exc:
        raise JobInputError(f"{explain.NOT_EXPLAINABLE}: {exc}") from exc
    except explain.ExplanationInputError as exc:
        raise JobInputError(str(exc)) from exc
    return _explanation_result(explain, choice.to_dict(), [chunk], rows, lime)


def _explained_predictor(job: EvidenceJob, frame: pd.DataFrame):
    """The registered artifact; a vendor version has none, only the predictions its dataset records,
    which the explainers refuse with the reason (they cannot be asked about other inputs)."""
    if job.version.artifact is not None:
        return predictor_for(job, frame)
    prediction = job.dataset.schema.get("prediction")
    if not prediction:
        raise JobInputError("the version has no artifact and the dataset records no predictions")
    return RecordedPredictions(dataset_frame(job.dataset, columns=[prediction])[prediction])


def _explained_label(schema: dict):
    return schema.get("positive_label") if schema["task"] == "binary_classification" else None


def _explanation_result(explain, choice: dict, chunks: list, rows: pd.DataFrame, lime) -> tuple[dict, str]:
    """The same body whether the chunks were explained here or by other workers: chunks in order."""
    body = {"choice": choice, **explain.merge_shap(chunks, chunks[0].feature_names)}
    values = np.concatenate([chunk.values for chunk in chunks])
    if len(values) > BEESWARM_MAX_ROWS:
        shown = np.linspace(0, len(values) - 1, BEESWARM_MAX_ROWS).astype(int)
        values, rows = values[shown], rows.iloc[shown]
    body["charts"] = {
        "importance": evidence_store.put(explain.importance_bar_png(body["importance"])),
        "beeswarm": evidence_store.put(explain.beeswarm_png(values, rows, chunks[0].feature_names)),
    }
    body["lime"] = lime
    return body, "done" if body["additivity"]["passed"] else "additivity_failed"


def _fan_out(job: EvidenceJob, rows: pd.DataFrame, background: pd.DataFrame | None) -> None:
    """Chunks with fixed bounds (a rerun keeps those recorded first); the unexplained ones are sent after commit."""
    step, chunks = settings.EXPLAIN_CHUNK_ROWS, []
    if not job.chunks.exists():
        stored_background = _put_frame(background) if background is not None else ""
        chunks = [
            EvidenceChunk(
                job=job,
                number=number,
                start=start,
                stop=min(start + step, len(rows)),
                rows_sha256=_put_frame(rows.iloc[start : start + step]),
                background_sha256=stored_background,
            )
            for number, start in enumerate(range(0, len(rows), step))
        ]
    waiting = [chunk.pk for chunk in evidence_job_chunks_plan(job, chunks=chunks) if not chunk.shap_sha256]
    if waiting:
        transaction.on_commit(lambda: _send_chunks(job.pk, waiting))


def _send_chunks(job_pk: int, chunk_pks: list[int]) -> None:
    from celery import group

    from evidence.tasks import explain_chunk

    try:
        group(explain_chunk.si(pk) for pk in chunk_pks).apply_async()
    except Exception:  # the broker is down: the job stays running and the sweep claims it again
        log.warning("chunks of evidence job %s could not be sent; the sweep will retry", job_pk, exc_info=True)


def _record_explainer(job, explain, predictor, frame, rows, choice, label, background) -> None:
    """LIME runs in the claiming task while the chunks run elsewhere; its part is recorded once."""
    if not EvidenceJob.objects.filter(pk=job.pk, explainer_sha256="").exists():
        return
    lime = _lime(explain, predictor, frame, rows, choice, label, background)
    digest = evidence_store.put_json(normalise({"choice": choice.to_dict(), "lime": lime}, "explainer"))
    evidence_job_explainer_record(job, explainer_sha256=digest)


def run_chunk(chunk_pk: int) -> str | None:
    """One chunk of an explanation, in whichever worker took its message; the last one merges."""
    chunk = EvidenceChunk.objects.select_related("job__version__model", "job__version__artifact", "job__dataset").get(
        pk=chunk_pk
    )
    job = chunk.job
    if job.status in (EvidenceJob.Status.SUCCEEDED, EvidenceJob.Status.FAILED):
        return None  # finished, or failed by another chunk: a late or repeated message changes nothing
    unexplained = EvidenceChunk.objects.filter(pk=chunk.pk, shap_sha256="")
    with row_heartbeat(row_claimed(EvidenceJob, job), unexplained):  # the job is alive while a chunk runs
        return _run_chunk(job, chunk)


def _run_chunk(job: EvidenceJob, chunk: EvidenceChunk) -> str | None:
    if not chunk.shap_sha256:
        digest = _settled(job, f"rows {chunk.start} to {chunk.stop}", lambda: _explain_chunk(job, chunk))
        if digest is None:
            return EvidenceJob.Status.FAILED
        evidence_chunk_record(chunk, shap_sha256=digest)
    return merge_when_complete(job)


def _explain_chunk(job: EvidenceJob, chunk: EvidenceChunk) -> str:
    from evidence import explain

    rows = _get_frame(chunk.rows_sha256)
    background = _get_frame(chunk.background_sha256) if chunk.background_sha256 else None
    predictor = _chunk_predictor(job)
    try:
        choice = explain.choose_explainer(predictor, class_label=_explained_label(job.dataset.schema))
        return _put_shap(explain.shap_chunk(predictor, rows, choice, background))
    except explain.ExplanationUnavailable as exc:
        raise JobInputError(f"{explain.NOT_EXPLAINABLE}: {exc}") from exc
    except explain.ExplanationInputError as exc:
        raise JobInputError(str(exc)) from exc


_loaded: dict[str, object] = {}  # the artifact this worker process loaded last, by SHA-256


def _chunk_predictor(job: EvidenceJob):
    """Every chunk checks the artifact's SHA-256; a worker that has loaded those bytes already reuses them
    (loading a 100-tree forest with skops costs about a second, as much as explaining a chunk)."""
    artifact = job.version.artifact
    actual = sha256_file(blob_path(settings.ARTIFACT_ROOT, artifact.sha256))
    if actual != artifact.sha256:
        raise ArtifactRejected("digest_mismatch", f"The artifact's SHA-256 is {actual}, not the recorded one.")
    if artifact.sha256 not in _loaded:
        _loaded.clear()
        _loaded[artifact.sha256] = predictor_for(job, pd.DataFrame())
    return _loaded[artifact.sha256]


def merge_when_complete(job: EvidenceJob) -> str | None:
    """Merges if every part is recorded and no one else has claimed the merge; finishes the job once."""
    if not evidence_job_merge_claim(job):
        return None
    merged = _settled(job, "merging the chunks", lambda: _merged(EvidenceJob.objects.get(pk=job.pk)))
    if merged is None:
        return EvidenceJob.Status.FAILED
    result, verdict = merged
    return evidence_job_finish(job, result=result, verdict=verdict).status


def _merged(job: EvidenceJob) -> tuple[dict, str]:
    from evidence import explain

    chunks = list(job.chunks.order_by("number"))
    explained = [_get_shap(explain, chunk.shap_sha256) for chunk in chunks]
    rows = pd.concat([_get_frame(chunk.rows_sha256) for chunk in chunks])
    part = evidence_store.get_json(job.explainer_sha256)
    return _explanation_result(explain, part["choice"], explained, rows, part["lime"])


def _settled(job: EvidenceJob, step: str, compute):
    """The step's value, or None once a failure has failed the job (once) with the step named."""
    try:
        return compute()
    except OperationalError:
        raise  # transient: the task retries with backoff
    except (JobInputError, ArtifactRejected, FeatureMismatch, ValueError) as exc:
        evidence_job_fail(job, message=f"{step}: {_message(exc)}")
    except Exception as exc:
        log.exception("evidence job %s failed in %s", job.pk, step)
        evidence_job_fail(job, message=f"{step}: {type(exc).__name__}: {exc}")
    return None


def _put_frame(frame: pd.DataFrame) -> str:
    """Parquet keeps the index labels, dtypes and every float bit, so a chunk sees the rows as sampled."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return evidence_store.put(buffer.getvalue())


def _get_frame(digest: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(evidence_store.get(digest)))


_SHAP_ARRAYS = ("values", "base_values", "model_output")


def _put_shap(chunk) -> str:
    """The arrays as .npy (exact, and read back in milliseconds by the merge), the rest as JSON beside them."""
    meta = {field.name: getattr(chunk, field.name) for field in dataclasses.fields(chunk)}
    arrays = {name: meta.pop(name) for name in _SHAP_ARRAYS}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
    return evidence_store.put(buffer.getvalue())


def _get_shap(explain, digest: str):
    with np.load(io.BytesIO(evidence_store.get(digest)), allow_pickle=False) as stored:
        return explain.ShapChunk(**json.loads(str(stored["meta"])), **{name: stored[name] for name in _SHAP_ARRAYS})


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


__all__ = ["run_job", "binary_labels", "positive_scores", "predictor_for", "dataset_frame"]

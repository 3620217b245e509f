"""Runs one evidence job in a worker: loads the data (checking its digest), has the registered model
evaluated in a confined child (mlio.confinement: the child loads the artifact, checking its digest, under
the CPU, memory, wall-clock and output limits of the version's risk tier), computes with the pure modules,
and records the result or a clear failure. A limit breach fails the job at once, for good."""

import io
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
from mlio.confinement import EvaluationFailed, LimitExceeded
from mlio.datasets import binary_labels, load_frame
from mlio.evaluation import ArtifactRef, predict_confined
from mlio.predictors import FeatureMismatch, RecordedPredictions
from registry.policies import evaluation_limits_for

log = logging.getLogger(__name__)
BEESWARM_MAX_ROWS = 2000  # more dots only hide each other, and drawing them is the slowest part of a merge


class JobInputError(Exception):
    """The inputs cannot give this evidence; the job fails with this message."""


def dataset_frame(dataset, columns: list[str] | None = None) -> pd.DataFrame:
    path = blob_path(settings.DATASET_ROOT, dataset.sha256)
    if sha256_file(path) != dataset.sha256:
        raise JobInputError(f"dataset {dataset.pk} does not match its registered SHA-256")
    return load_frame(path, dataset.format, columns=columns)


def artifact_ref(version) -> ArtifactRef:
    """The version's registered artifact, as the confined child loads it (checking its digest)."""
    artifact = version.artifact
    return ArtifactRef(
        path=str(blob_path(settings.ARTIFACT_ROOT, artifact.sha256)),
        format=str(artifact.format),
        sha256=artifact.sha256,
        allow_pickle=settings.ALLOW_PICKLE_ARTIFACTS,
    )


def predictions_for(job: EvidenceJob, frame: pd.DataFrame) -> np.ndarray:
    """The dataset's recorded predictions for a vendor model, else the registered model's, from its child."""
    prediction = job.dataset.schema.get("prediction")
    features = frame[job.dataset.schema["features"]]
    if prediction and prediction in frame:
        return RecordedPredictions(frame[prediction]).predict(features)
    limits, source = evaluation_limits_for(job.version)
    return predict_confined(
        artifact_ref(job.version), features, probabilities=False, limits=limits, source=source
    ).predictions


def positive_column(proba: np.ndarray | None, classes: list | None, positive_label) -> np.ndarray | None:
    """The probability of the positive label, from the model's probabilities and classes (None without them)."""
    if proba is None or classes is None:
        return None
    names = [str(c) for c in classes]
    return proba[:, names.index(str(positive_label))] if str(positive_label) in names else None


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
    except (JobInputError, ArtifactRejected, FeatureMismatch, ValueError, LimitExceeded, EvaluationFailed) as exc:
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
    binary = schema["task"] == "binary_classification"
    predictions = predictions_for(job, frame)
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
    """Up to EXPLAIN_CHUNK_ROWS rows are explained by this task's confined child; more are cut into chunks for
    all workers, each explained by a child of its own (the model never runs in the worker itself).

    The fan-out keeps its state in rows, not in a Celery chord: a chord needs a result backend
    (which a deployment may run without) and would carry every chunk's SHAP values through it, and
    a redelivered chunk (acks_late) could fire its callback twice. Here each chunk's values are an
    evidence blob whose digest is recorded once (evidence.services), and the last finisher merges.
    Returns None when the chunks were sent: the merge finishes the job.
    """
    from evidence import explain
    from evidence.explain.confined import explain_confined

    schema = job.dataset.schema
    frame = dataset_frame(job.dataset, columns=schema["features"])
    rows = frame.sample(min(len(frame), settings.EXPLAIN_MAX_ROWS), random_state=0) if len(frame) else frame
    if job.version.artifact is None:  # a vendor version: only recorded predictions, which cannot be queried
        if not schema.get("prediction"):
            raise JobInputError("the version has no artifact and the dataset records no predictions")
        raise JobInputError(f"{explain.NOT_EXPLAINABLE}: {explain.RECORDED_ONLY}")
    limits, source = evaluation_limits_for(job.version)
    whole = len(rows) <= settings.EXPLAIN_CHUNK_ROWS
    if whole:
        evidence_job_progress(job, done=0, total=len(rows))
    wants_lime = whole or EvidenceJob.objects.filter(pk=job.pk, explainer_sha256="").exists()
    explained = explain_confined(
        artifact_ref(job.version),
        frame,
        rows,
        label=_explained_label(schema),
        shap=whole,
        lime_rows=settings.EXPLAIN_LIME_ROWS if wants_lime else None,
        limits=limits,
        source=source,
    )
    if whole:
        chunk = explain.ShapChunk.from_bytes(explained.shap)
        return _explanation_result(explain, explained.choice, [chunk], rows, explained.lime)
    _fan_out(job, rows, explained.background)
    if wants_lime:  # LIME ran in the claiming task while the chunks run elsewhere; its part is recorded once
        part = normalise({"choice": explained.choice, "lime": explained.lime}, "explainer")
        evidence_job_explainer_record(job, explainer_sha256=evidence_store.put_json(part))
    return None


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
    from evidence.explain.confined import shap_chunk_confined

    rows = _get_frame(chunk.rows_sha256)
    background = _get_frame(chunk.background_sha256) if chunk.background_sha256 else None
    limits, source = evaluation_limits_for(job.version)
    label = _explained_label(job.dataset.schema)
    values = shap_chunk_confined(artifact_ref(job.version), rows, background, label=label, limits=limits, source=source)
    return evidence_store.put(values)


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
    except (JobInputError, ArtifactRejected, FeatureMismatch, ValueError, LimitExceeded, EvaluationFailed) as exc:
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


def _get_shap(explain, digest: str):
    return explain.ShapChunk.from_bytes(evidence_store.get(digest))


COMPUTE = {
    EvidenceJob.Kind.DRIFT_CHECK: _drift,
    EvidenceJob.Kind.BIAS_AUDIT: _bias,
    EvidenceJob.Kind.EXPLANATION: _explanation,
}


__all__ = ["run_job", "binary_labels", "positive_column", "artifact_ref", "dataset_frame"]

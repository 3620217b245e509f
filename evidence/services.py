"""Evidence jobs: requested with their audit event, run by workers, finished exactly once.

A job's state is its row. It is enqueued after commit; if the broker was down then, the
sweep (Celery beat) enqueues it later, so a request is never lost. Workers claim a job with a
conditional UPDATE, so a redelivered message (acks_late) cannot run it twice.
"""

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from audits.ledger.hashing import canonical, normalise, sha256_hex
from audits.services import audit_event_append, object_ref
from core.errors import DomainError
from core.rowjobs import row_claim, row_claimed, row_enqueue, row_fail, row_sweep
from evidence.models import EvidenceChunk, EvidenceJob
from evidence.unexplainable import UNQUERYABLE
from registry.policies import policy_for, policy_thresholds

Status = EvidenceJob.Status


def _check_inputs(kind: str, version, dataset, reference) -> None:
    schema = dataset.schema
    if kind == EvidenceJob.Kind.BIAS_AUDIT and not (schema.get("sensitive_features") and schema.get("target")):
        raise DomainError(
            "invalid",
            "dataset: a bias audit needs a target and sensitive features.",
            fields={"dataset": ["Declares no target or no sensitive features."]},
        )
    if kind == EvidenceJob.Kind.DRIFT_CHECK and reference is None:
        raise DomainError(
            "invalid",
            "reference: a drift check needs a reference dataset.",
            fields={"reference": ["Required for a drift check."]},
        )
    if kind == EvidenceJob.Kind.EXPLANATION and version.artifact is None:
        raise DomainError(
            "not_explainable",
            f"version: {UNQUERYABLE}.",
            fields={"version": ["Not explainable: no artifact to query."]},
        )
    if version.artifact is None and not schema.get("prediction"):
        raise DomainError(
            "invalid",
            "version: it has no artifact and the dataset records no predictions.",
            fields={"version": ["Nothing to predict with."]},
        )


def _same_job(kind, version, dataset, reference, params):
    """A job for exactly these inputs that is queued, running or done: asking again reuses it."""
    return (
        EvidenceJob.objects.filter(
            kind=kind,
            version=version,
            dataset=dataset,
            reference=reference,
            params=params,
            artifact_sha256=version.artifact.sha256 if version.artifact else "",
        )
        .exclude(status=Status.FAILED)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def evidence_job_request(*, kind: str, version, dataset, actor: str, reference=None, params=None) -> EvidenceJob:
    params = dict(params or {})
    _check_inputs(kind, version, dataset, reference)
    if kind == EvidenceJob.Kind.BIAS_AUDIT and "thresholds" not in params:
        # Fixed into the job when it is requested, so the verdict is judged against the policy that
        # stood then and a policy change asks for a new audit.
        params["thresholds"] = policy_thresholds(policy_for(version)) or {}
    existing = _same_job(kind, version, dataset, reference, params)
    if existing:
        return existing
    job = EvidenceJob.objects.create(
        kind=kind,
        version=version,
        dataset=dataset,
        reference=reference,
        params=params,
        requested_by=actor,
        artifact_sha256=version.artifact.sha256 if version.artifact else "",
        dataset_sha256=dataset.sha256,
    )
    audit_event_append(actor=actor, action="evidence.queued", object_ref=object_ref(job), data=_digests(job))
    transaction.on_commit(lambda: enqueue(job.pk))
    return job


def _digests(job: EvidenceJob) -> dict:
    return {
        "kind": job.kind,
        "model": job.version.model.name,
        "version": job.version.version,
        "artifact_sha256": job.artifact_sha256 or None,
        "dataset_sha256": job.dataset_sha256,
        "reference_sha256": job.reference.sha256 if job.reference else None,
    }


def enqueue(job_pk: int) -> bool:
    from evidence.tasks import run_evidence_job

    return row_enqueue(EvidenceJob, job_pk, run_evidence_job.delay)


def evidence_job_claim(job_pk: int) -> EvidenceJob | None:
    if not row_claim(EvidenceJob, job_pk):
        return None
    return EvidenceJob.objects.select_related("version__model", "version__artifact", "dataset", "reference").get(
        pk=job_pk
    )


def evidence_job_progress(job: EvidenceJob, *, done: int, total: int) -> None:
    """Progress counts rows. total is 0 until the rows are loaded (the first step a job reports), then the
    number of rows the job computes over; done counts rows computed and reaches total only together with
    the result (the runner records that last step in the transaction that writes it). A job computing in
    one pass (bias audit, drift check, a small explanation) reads 0 of total until then; a chunked
    explanation counts each chunk's rows as it is recorded, then merges."""
    if not 0 <= done <= total:
        raise ValueError(f"progress {done} of {total} rows is not a count of rows")
    EvidenceJob.objects.filter(pk=job.pk).update(progress_done=done, progress_total=total)


# An explanation cut into chunks. Each chunk task records its SHAP values with a conditional UPDATE;
# the claiming task records the explainer chosen and LIME; whoever records last sees all of them
# (each checks after its own commit) and claims the merge with one more conditional UPDATE.


@transaction.atomic
def evidence_job_chunks_plan(job: EvidenceJob, *, chunks: list[EvidenceChunk]) -> list[EvidenceChunk]:
    """The job's chunks: those of an earlier attempt when there are any, so their bounds never move.

    Progress restarts from what is recorded, and a merge claimed by a worker that died is released.
    """
    if not EvidenceChunk.objects.filter(job=job).exists():
        EvidenceChunk.objects.bulk_create(chunks, ignore_conflicts=True)
    planned = list(EvidenceChunk.objects.filter(job=job).order_by("number"))
    EvidenceJob.objects.filter(pk=job.pk).update(
        progress_done=sum(chunk.stop - chunk.start for chunk in planned if chunk.shap_sha256),
        progress_total=planned[-1].stop,
        merge_claimed_at=None,
    )
    return planned


@transaction.atomic
def evidence_chunk_record(chunk: EvidenceChunk, *, shap_sha256: str) -> bool:
    """Counts the chunk's rows once, however often its message is delivered.

    Each recorded chunk renews the job's heartbeat, as the chunk's own worker does while it runs.
    """
    recorded = EvidenceChunk.objects.filter(pk=chunk.pk, shap_sha256="").update(
        shap_sha256=shap_sha256, finished_at=timezone.now()
    )
    if recorded:
        EvidenceJob.objects.filter(pk=chunk.job_id).update(
            progress_done=F("progress_done") + (chunk.stop - chunk.start), heartbeat_at=timezone.now()
        )
    return bool(recorded)


def evidence_job_explainer_record(job: EvidenceJob, *, explainer_sha256: str) -> None:
    EvidenceJob.objects.filter(pk=job.pk, explainer_sha256="").update(explainer_sha256=explainer_sha256)


def evidence_job_merge_claim(job: EvidenceJob) -> bool:
    """True for one caller only, once every chunk and the explainer part are recorded."""
    unexplained = EvidenceChunk.objects.filter(job=OuterRef("pk"), shap_sha256="")
    return bool(
        EvidenceJob.objects.filter(pk=job.pk, status=Status.RUNNING, merge_claimed_at__isnull=True)
        .exclude(explainer_sha256="")
        .filter(~Exists(unexplained))
        .update(merge_claimed_at=timezone.now())
    )


@transaction.atomic
def evidence_job_finish(job: EvidenceJob, *, result: dict, verdict: str) -> EvidenceJob:
    result = normalise(result, "result")
    digest = sha256_hex(canonical(result))
    updated = row_claimed(EvidenceJob, job).update(  # by the claim that ran it: a stalled worker's is no longer
        status=Status.SUCCEEDED,
        result=result,
        result_sha256=digest,
        verdict=verdict,
        finished_at=timezone.now(),
        error="",
    )
    if updated:  # finished once, whatever happens to the message afterwards
        audit_event_append(
            actor="system",
            action="evidence.completed",
            object_ref=object_ref(job),
            data={**_digests(job), "result_sha256": digest, "verdict": verdict},
        )
        if job.kind == EvidenceJob.Kind.DRIFT_CHECK and verdict == "drift":
            _drift_alert(job, result, digest)
    return EvidenceJob.objects.get(pk=job.pk)


def _drift_alert(job: EvidenceJob, result: dict, digest: str) -> None:
    """The alert is an audit event (so subscribed webhooks fire); a production version is marked for review."""
    from registry.models import ModelVersion, Stage

    version = job.version
    review = version.stage == Stage.PRODUCTION
    if review:
        ModelVersion.objects.filter(pk=version.pk).update(review_required=True)
    audit_event_append(
        actor="system",
        action="drift.alert",
        object_ref=object_ref(version),
        data={
            "model": version.model.name,
            "version": version.version,
            "job": job.pk,
            "result_sha256": digest,
            "drifted_features": result.get("drifted_features", []),
            "review_required": review,
        },
    )


@transaction.atomic
def evidence_job_fail(job: EvidenceJob, *, message: str) -> EvidenceJob:
    if row_fail(EvidenceJob, job.pk, message=message, attempt=job.attempts):
        audit_event_append(
            actor="system",
            action="evidence.failed",
            object_ref=object_ref(job),
            data={**_digests(job), "error": message[:500]},
        )
    return EvidenceJob.objects.get(pk=job.pk)


def evidence_sweep(*, now=None) -> dict:
    """Beat: enqueue jobs the broker never got; requeue or fail jobs whose worker died.

    An explanation whose chunks wait in the queue, none of them started yet, is silent without being dead:
    it is trusted as long as a queued message is. A chunk whose worker died is started and unexplained, so
    once the others are done the job falls silent and its rerun sends that chunk again."""
    related = ("version__model", "dataset", "reference")
    unstarted = EvidenceChunk.objects.filter(job=OuterRef("pk"), shap_sha256="", heartbeat_at__isnull=True)
    return row_sweep(
        EvidenceJob, enqueue=enqueue, fail=evidence_job_fail, related=related, now=now, waiting=Q(Exists(unstarted))
    )

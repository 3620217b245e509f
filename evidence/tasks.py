"""Thin tasks over evidence jobs. Their names keep the "audits." prefix they were first published with,
so messages already queued by an older release still find them."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    name="audits.run_evidence_job",
    bind=True,
    ignore_result=True,  # the job's state and result live in its row
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def run_evidence_job(self, job_pk: int) -> str | None:
    """Thin: the runner claims the row, so a duplicate or redelivered message does nothing."""
    from evidence.runner import run_job

    return run_job(job_pk)


@shared_task(
    name="audits.explain_chunk",
    ignore_result=True,  # the chunk's SHAP values are an evidence blob; its row holds the digest
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def explain_chunk(chunk_pk: int) -> str | None:
    """Thin: the chunk's values are recorded with a conditional UPDATE, so a redelivery counts once."""
    from evidence.runner import run_chunk

    return run_chunk(chunk_pk)


@shared_task(name="audits.evidence_sweep", ignore_result=True)
def evidence_sweep() -> dict:
    from evidence.services import evidence_sweep as sweep

    return sweep()

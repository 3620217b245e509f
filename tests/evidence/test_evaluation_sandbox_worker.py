"""On a real Celery worker with one slot: a model that spins on row 300 fails its bias audit at the CPU limit,
once, and the slot is free for the next job at once (not after the worker's time limit, three times over)."""

import time

import pytest

from evidence.models import EvidenceJob
from evidence.services import evidence_job_request
from tests.conftest import running_worker
from tests.evidence.hostile_models import applications, spinning_model
from tests.evidence.test_evaluation_sandbox import limit_high_risk, register

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _finished(*jobs: EvidenceJob, within: float = 180) -> list[EvidenceJob]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = [EvidenceJob.objects.get(pk=job.pk) for job in jobs]
        if all(row.status in ("succeeded", "failed") for row in rows):
            return rows
        time.sleep(0.5)
    raise AssertionError(f"jobs still running: {[(row.pk, row.status) for row in rows]}")


def test_the_worker_is_free_for_the_next_job_once_a_hostile_model_meets_its_limit():
    hostile, hostile_data = register(spinning_model(), applications(trigger=1e6), name="hostile")
    normal, normal_data = register(spinning_model(), applications(trigger=None), name="ordinary")
    limit_high_risk(cpu_seconds=3, wall_seconds=30)
    with running_worker(concurrency=1):  # started here: it stores and reads under this test's storage folder
        first = evidence_job_request(kind="bias_audit", version=hostile, dataset=hostile_data, actor="user:ci")
        second = evidence_job_request(kind="bias_audit", version=normal, dataset=normal_data, actor="user:ci")
        first, second = _finished(first, second)
    assert first.status == "failed"
    assert first.error.startswith("the model used more than 3 s of CPU on 400 rows and was stopped")
    assert first.attempts == 1
    assert (first.finished_at - first.claimed_at).total_seconds() < 30  # stopped by the sandbox, not the worker
    assert second.status == "succeeded", second.error
    assert second.claimed_at >= first.finished_at  # the one slot took the next job after the breach

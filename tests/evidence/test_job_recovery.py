"""A job whose worker died is found by its silent heartbeat and run again, on the embedded default too.

Before heartbeats a running row counted as dead only once its claim was older than the task time limit plus a
minute (32 minutes by default), and a worker that stalled and woke up later could still finish a row that a
newer run held. These tests run in-process; tests/evidence/test_evidence_reliability.py kills a real worker.
"""

import json
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent
from core.rowjobs import MAX_ATTEMPTS, row_claimed, row_heartbeat, row_sweep
from evidence.models import EvidenceChunk, EvidenceJob
from evidence.services import (
    evidence_job_claim,
    evidence_job_fail,
    evidence_job_finish,
    evidence_job_request,
    evidence_sweep,
)
from evidence.tasks import explain_chunk
from governance.embedded_beat import EmbeddedBeat, run_task
from tests.evidence.test_explain_chunks import (  # noqa: F401
    _claimed_but_not_sent,
    _same_inputs_in_one_pass,
    chunked,
    dataset,
)
from tests.registry_fixtures import register_dataset, register_model, register_version

SWEEPS = ("evidence-sweep", "report-sweep", "monitoring-sweep")


@pytest.fixture
def requested(ci_client, applicants, model_bytes, django_capture_on_commit_callbacks):
    """A bias audit requested while the broker missed it: queued, never sent, run only by the test."""
    register_model(ci_client)
    data = register_dataset(ci_client, applicants).json()
    assert register_version(ci_client, model_bytes, sample_dataset=data["id"]).status_code == 201
    body = {"kind": "bias_audit", "dataset": data["id"]}
    with django_capture_on_commit_callbacks():
        response = ci_client.post(reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"]), body, format="json")
    assert response.status_code == 202, response.content
    return EvidenceJob.objects.get(pk=response.json()["id"])


def _left_running(job: EvidenceJob, *, claimed_ago: float, beat_ago: float | None, attempts: int = 1) -> None:
    """As a worker killed mid-job leaves its row: running, with its last heartbeat `beat_ago` seconds old."""
    now = timezone.now()
    EvidenceJob.objects.filter(pk=job.pk).update(
        status="running",
        attempts=attempts,
        enqueued_at=now - timedelta(seconds=claimed_ago),
        claimed_at=now - timedelta(seconds=claimed_ago),
        heartbeat_at=None if beat_ago is None else now - timedelta(seconds=beat_ago),
    )


def _events(job_pk: int, action: str) -> int:
    bodies = AuditEvent.objects.filter(action=action).values_list("body", flat=True)
    return sum(json.loads(bytes(body))["object"] == f"audits.evidencejob:{job_pk}" for body in bodies)


@pytest.mark.django_db
def test_a_job_with_a_fresh_heartbeat_stays_with_its_worker_however_long_it_has_run(requested, settings):
    _left_running(requested, claimed_ago=settings.CELERY_TASK_TIME_LIMIT + 3600, beat_ago=1)
    assert evidence_sweep()["requeued_or_failed"] == 0
    job = EvidenceJob.objects.get(pk=requested.pk)
    assert (job.status, job.attempts) == ("running", 1)


@pytest.mark.django_db
@pytest.mark.parametrize("beat_ago", [120, None], ids=["silent heartbeat", "claimed before heartbeats"])
def test_a_job_silent_past_the_threshold_is_requeued_and_completed(
    requested, settings, beat_ago, django_capture_on_commit_callbacks
):
    assert settings.JOB_STALE_SECONDS < 120  # the default: picked up again within about two minutes
    _left_running(requested, claimed_ago=120, beat_ago=beat_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert evidence_sweep() == {"requeued_or_failed": 1, "enqueued": 1}
    job = EvidenceJob.objects.get(pk=requested.pk)
    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    assert job.heartbeat_at >= job.claimed_at  # the second run beat on its row
    assert (_events(job.pk, "evidence.completed"), _events(job.pk, "evidence.failed")) == (1, 0)


@pytest.mark.django_db
def test_a_job_whose_workers_died_every_time_fails_with_the_reason(requested):
    _left_running(requested, claimed_ago=120, beat_ago=120, attempts=MAX_ATTEMPTS)
    assert evidence_sweep()["requeued_or_failed"] == 1
    job = EvidenceJob.objects.get(pk=requested.pk)
    assert job.status == "failed"
    assert f"the worker running it died {MAX_ATTEMPTS} times" in job.error
    assert _events(job.pk, "evidence.failed") == 1


@pytest.mark.django_db
def test_a_stalled_worker_that_wakes_up_cannot_finish_or_fail_the_newer_run(requested):
    stalled = evidence_job_claim(requested.pk)
    _left_running(requested, claimed_ago=120, beat_ago=120)
    row_sweep(EvidenceJob, enqueue=lambda pk: False, fail=evidence_job_fail, related=())  # requeued, not sent
    newer = evidence_job_claim(requested.pk)
    assert (stalled.attempts, newer.attempts) == (1, 2)

    assert evidence_job_finish(stalled, result={"from": "the stalled worker"}, verdict="pass").status == "running"
    assert evidence_job_fail(stalled, message="the stalled worker's error").status == "running"
    done = evidence_job_finish(newer, result={"from": "the newer run"}, verdict="pass")
    assert (done.status, done.result, done.error) == ("succeeded", {"from": "the newer run"}, "")
    assert evidence_job_finish(stalled, result={"from": "the stalled worker"}, verdict="fail").result == done.result
    assert (_events(done.pk, "evidence.completed"), _events(done.pk, "evidence.failed")) == (1, 0)


def _wait_for(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the heartbeat thread sees committed rows
def test_the_heartbeat_beats_while_the_work_runs_for_its_own_claim_only_and_stops_after(requested):
    EvidenceJob.objects.filter(pk=requested.pk).update(status="queued", attempts=0)  # committed at once: it ran
    job = evidence_job_claim(requested.pk)
    old = timezone.now() - timedelta(hours=1)
    beat = lambda: EvidenceJob.objects.get(pk=job.pk).heartbeat_at  # noqa: E731
    with row_heartbeat(row_claimed(EvidenceJob, job), every=0.05):
        EvidenceJob.objects.filter(pk=job.pk).update(heartbeat_at=old)
        assert _wait_for(lambda: beat() > old)
        EvidenceJob.objects.filter(pk=job.pk).update(attempts=job.attempts + 1, heartbeat_at=old)  # claimed anew
        time.sleep(0.3)
        assert beat() == old  # the newer claim's row is its own worker's to beat
    EvidenceJob.objects.filter(pk=job.pk).update(attempts=job.attempts, heartbeat_at=old)
    time.sleep(0.3)
    assert beat() == old  # the block ended: so did the beats


@pytest.mark.django_db
def test_an_explanation_is_not_silent_while_chunks_wait_and_a_dead_chunk_is_sent_again(
    ci_client,
    dataset,  # noqa: F811
    chunked,  # noqa: F811
    settings,
    django_capture_on_commit_callbacks,
):
    job = _claimed_but_not_sent(ci_client, dataset, django_capture_on_commit_callbacks)
    chunks = {chunk.number: chunk for chunk in job.chunks.all()}
    silent = lambda: EvidenceJob.objects.filter(pk=job.pk).update(  # noqa: E731
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    silent()
    assert evidence_sweep()["requeued_or_failed"] == 0  # its chunks wait in the queue, none started
    for number in (0, 1):
        explain_chunk.delay(chunks[number].pk)
    assert EvidenceChunk.objects.get(pk=chunks[0].pk).heartbeat_at is not None  # a started chunk says so
    EvidenceChunk.objects.filter(pk=chunks[2].pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    silent()  # chunk 2's worker died mid-chunk; chunk 3 still waits
    assert evidence_sweep()["requeued_or_failed"] == 0
    explain_chunk.delay(chunks[3].pk)
    assert EvidenceJob.objects.get(pk=job.pk).status == "running"  # chunk 2 is missing: nobody can merge
    first = EvidenceChunk.objects.get(pk=chunks[0].pk).finished_at
    silent()
    with django_capture_on_commit_callbacks(execute=True):  # requeued, claimed again, chunk 2 sent again
        assert evidence_sweep()["requeued_or_failed"] == 1
    done = EvidenceJob.objects.get(pk=job.pk)
    assert (done.status, done.attempts, done.progress_done, done.progress_total) == ("succeeded", 2, 400, 400)
    assert job.chunks.count() == 4 and not job.chunks.filter(shap_sha256="").exists()
    assert EvidenceChunk.objects.get(pk=chunks[0].pk).finished_at == first  # explained once, kept by the rerun
    assert _events(job.pk, "evidence.completed") == 1
    assert _same_inputs_in_one_pass(done, settings).result_sha256 == done.result_sha256


@pytest.mark.django_db
def test_the_embedded_default_recovers_a_job_its_killed_serving_process_left_running(
    requested, settings, django_capture_on_commit_callbacks
):
    for name in SWEEPS:
        assert settings.CELERY_BEAT_SCHEDULE[name]["schedule"] == settings.JOB_SWEEP_SECONDS <= 30
    _left_running(requested, claimed_ago=600, beat_ago=600)  # the process was killed ten minutes ago
    beat = EmbeddedBeat(settings.CELERY_BEAT_SCHEDULE, run_task, now=0)  # the next start runs every sweep
    with django_capture_on_commit_callbacks(execute=True):
        assert set(SWEEPS) <= set(beat.tick(0))
    job = EvidenceJob.objects.get(pk=requested.pk)
    assert (job.status, job.attempts) == ("succeeded", 2), job.error

    with django_capture_on_commit_callbacks():  # another job, left running by another serving process later on
        later = evidence_job_request(kind="explanation", version=job.version, dataset=job.dataset, actor="user:1")
    _left_running(later, claimed_ago=100, beat_ago=100)
    assert beat.tick(settings.JOB_SWEEP_SECONDS - 1) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert set(SWEEPS) <= set(beat.tick(settings.JOB_SWEEP_SECONDS))  # the next sweep, not in 32 minutes
    later = EvidenceJob.objects.get(pk=later.pk)
    assert (later.status, later.attempts) == ("succeeded", 2), later.error
    assert (_events(job.pk, "evidence.completed"), _events(later.pk, "evidence.completed")) == (1, 1)

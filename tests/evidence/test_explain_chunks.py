"""Explanations cut into chunks: explained apart, merged into the result of one pass, finished once.

The first tests run the chunks in-process (the embedded default); the last one sends them to a
real Celery worker with two processes.
"""

import io
import json
import time
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import skops.io
from django.conf import settings as django_settings
from django.core.files import File
from django.urls import reverse
from django.utils import timezone
from kombu import Connection
from sklearn.ensemble import RandomForestClassifier

from audits.models import AuditEvent
from core import roles
from core.blobs import blob_path
from evidence.explain import confined
from evidence.models import EvidenceChunk, EvidenceJob
from evidence.runner import merge_when_complete, run_job
from evidence.services import evidence_job_request, evidence_sweep
from evidence.tasks import explain_chunk, run_evidence_job
from governance.celery import app as celery_app
from registry.services import dataset_register, model_register, model_version_register
from tests.conftest import running_worker
from tests.factories import UserFactory
from tests.registry_fixtures import register_dataset, register_model, register_version

CHUNK_ROWS = 100  # the applicants' 400 rows make four chunks


@pytest.fixture
def dataset(ci_client, applicants, model_bytes):
    register_model(ci_client)
    dataset = register_dataset(ci_client, applicants).json()
    assert register_version(ci_client, model_bytes, sample_dataset=dataset["id"]).status_code == 201
    return dataset


@pytest.fixture
def chunked(settings):
    settings.EXPLAIN_CHUNK_ROWS = CHUNK_ROWS


def _request(client, dataset) -> int:
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    return client.post(url, {"kind": "explanation", "dataset": dataset["id"]}, format="json").json()["id"]


def _claimed_but_not_sent(client, dataset, capture) -> EvidenceJob:
    """A job whose claiming task has run and whose chunk messages wait in the returned callbacks."""
    with capture():  # the request's own enqueue is dropped: the test runs the job itself
        job_pk = _request(client, dataset)
    with capture() as sent:
        assert run_job(job_pk) == "running"
    job = EvidenceJob.objects.get(pk=job_pk)
    job.sent = sent
    return job


def _same_inputs_in_one_pass(job: EvidenceJob, settings) -> EvidenceJob:
    settings.EXPLAIN_CHUNK_ROWS = 10_000
    again = EvidenceJob.objects.create(
        kind=job.kind,
        version=job.version,
        dataset=job.dataset,
        params=job.params,
        requested_by="user:test",
        artifact_sha256=job.artifact_sha256,
        dataset_sha256=job.dataset_sha256,
    )
    run_job(again.pk)
    again.refresh_from_db()
    return again


def _events(job_pk: int, action: str) -> int:
    bodies = AuditEvent.objects.filter(action=action).values_list("body", flat=True)
    return sum(json.loads(bytes(body))["object"] == f"audits.evidencejob:{job_pk}" for body in bodies)


@pytest.mark.django_db
def test_chunks_explained_apart_merge_into_the_result_of_one_pass(
    ci_client, dataset, chunked, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_pk = _request(ci_client, dataset)
    job = EvidenceJob.objects.get(pk=job_pk)
    assert (job.status, job.verdict) == ("succeeded", "done"), job.error
    bounds = list(job.chunks.values_list("number", "start", "stop"))
    assert bounds == [(0, 0, 100), (1, 100, 200), (2, 200, 300), (3, 300, 400)]
    assert (job.progress_done, job.progress_total) == (400, 400)
    assert job.result["rows_explained"] == 400
    assert -1 <= job.result["lime"]["agreement"]["summary"]["mean"] <= 1
    assert _events(job.pk, "evidence.completed") == 1

    one_pass = _same_inputs_in_one_pass(job, settings)
    assert not one_pass.chunks.exists()
    assert one_pass.result_sha256 == job.result_sha256


@pytest.mark.django_db
def test_progress_shows_in_the_api_while_the_chunks_run(
    ci_client, dataset, chunked, monkeypatch, django_capture_on_commit_callbacks
):
    seen, explain_rows = [], confined.shap_chunk_confined

    def observed(artifact, rows, *args, **kwargs):  # each chunk is explained in a confined child
        assert len(rows) == CHUNK_ROWS
        [job] = ci_client.get(reverse("v1:evidence-jobs")).json()["results"]
        seen.append((job["status"], job["progress"]["done"], job["progress"]["total"]))
        return explain_rows(artifact, rows, *args, **kwargs)

    monkeypatch.setattr(confined, "shap_chunk_confined", observed)
    with django_capture_on_commit_callbacks(execute=True):
        job_pk = _request(ci_client, dataset)
    assert seen == [("running", done, 400) for done in (0, 100, 200, 300)]
    final = ci_client.get(reverse("v1:evidence-job", args=[job_pk])).json()
    assert (final["status"], final["progress"]) == ("succeeded", {"done": 400, "total": 400})


@pytest.mark.django_db
def test_a_repeated_chunk_message_or_merge_changes_nothing(
    ci_client, dataset, chunked, django_capture_on_commit_callbacks
):
    job = _claimed_but_not_sent(ci_client, dataset, django_capture_on_commit_callbacks)
    first = job.chunks.get(number=0)
    explain_chunk.delay(first.pk)
    recorded = EvidenceChunk.objects.get(pk=first.pk)
    explain_chunk.delay(first.pk)  # redelivered before the others ran
    job.refresh_from_db()
    assert (job.status, job.progress_done) == ("running", 100)
    assert EvidenceChunk.objects.get(pk=first.pk).finished_at == recorded.finished_at

    for callback in job.sent:  # the claiming task's fan-out, chunk 0 included once more
        callback()
    done = EvidenceJob.objects.get(pk=job.pk)
    assert (done.status, done.progress_done) == ("succeeded", 400), done.error
    for chunk in job.chunks.all():
        explain_chunk.delay(chunk.pk)
    run_evidence_job.delay(job.pk)
    assert merge_when_complete(done) is None
    after = EvidenceJob.objects.get(pk=job.pk)
    assert (after.result_sha256, after.progress_done, after.finished_at) == (
        done.result_sha256,
        400,
        done.finished_at,
    )
    assert _events(job.pk, "evidence.completed") == 1


@pytest.mark.django_db
def test_a_failing_chunk_fails_the_job_once_with_its_rows_named(
    ci_client, dataset, chunked, django_capture_on_commit_callbacks
):
    job = _claimed_but_not_sent(ci_client, dataset, django_capture_on_commit_callbacks)
    broken = job.chunks.get(number=2)
    blob_path(django_settings.EVIDENCE_ROOT, broken.rows_sha256).write_bytes(b"not the rows that were sampled")
    for callback in job.sent:
        callback()
    failed = EvidenceJob.objects.get(pk=job.pk)
    assert failed.status == "failed"
    assert failed.error.startswith(f"rows 200 to 300: evidence blob {broken.rows_sha256} does not match")
    assert list(job.chunks.exclude(shap_sha256="").values_list("number", flat=True)) == [0, 1]
    for chunk in job.chunks.all():
        explain_chunk.delay(chunk.pk)
    assert EvidenceJob.objects.get(pk=job.pk).finished_at == failed.finished_at
    assert (_events(job.pk, "evidence.failed"), _events(job.pk, "evidence.completed")) == (1, 0)


@pytest.mark.django_db
def test_a_job_whose_claiming_worker_died_keeps_its_chunks_and_finishes_once(
    ci_client, dataset, chunked, settings, django_capture_on_commit_callbacks
):
    job = _claimed_but_not_sent(ci_client, dataset, django_capture_on_commit_callbacks)
    explain_chunk.delay(job.chunks.get(number=0).pk)  # one chunk ran; the others' messages were lost
    first = job.chunks.get(number=0).finished_at
    with django_capture_on_commit_callbacks(execute=True):  # requeued, enqueued again, claimed again
        assert evidence_sweep(now=timezone.now() + timedelta(hours=1))["requeued_or_failed"] == 1
    done = EvidenceJob.objects.get(pk=job.pk)
    assert (done.status, done.attempts, done.progress_done) == ("succeeded", 2, 400), done.error
    assert job.chunks.count() == 4
    assert job.chunks.get(number=0).finished_at == first  # explained once, kept by the second attempt
    assert _events(job.pk, "evidence.completed") == 1
    assert _same_inputs_in_one_pass(done, settings).result_sha256 == done.result_sha256


# With a real worker ----------------------------------------------------------------------------

FEATURES = [f"f{i}" for i in range(10)]
SCHEMA = {"features": FEATURES, "target": "y", "positive_label": 1, "task": "binary_classification"}


def _forest_version():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(4000, len(FEATURES))).round(4), columns=FEATURES)
    frame["y"] = (frame.f0 + frame.f1 * frame.f2 + rng.normal(0, 0.5, len(frame)) > 0).astype(int)
    user = UserFactory(username="scientist", roles=[roles.DATA_SCIENTIST])  # in the personas' team
    model = model_register(user=user, name="chunked", risk_tier="low")
    dataset = dataset_register(
        user=user,
        name="eval",
        kind="evaluation",
        upload=File(io.BytesIO(frame.to_csv(index=False).encode()), name="eval.csv"),
        schema=SCHEMA,
    )
    forest = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(frame[FEATURES], frame["y"])
    buffer = io.BytesIO()
    skops.io.dump(forest, buffer)
    buffer.seek(0)
    version, _ = model_version_register(
        user=user, model=model, version="1.0.0", upload=File(buffer, name="m.skops"), metadata={}
    )
    return version, dataset


def _watch(job_pk: int, seconds: float = 180) -> tuple[EvidenceJob, list[tuple[int, int]]]:
    """The job once finished, and the progress seen while it ran."""
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        job = EvidenceJob.objects.get(pk=job_pk)
        if job.status in ("succeeded", "failed"):
            return job, seen
        if job.status == "running":
            seen.append((job.progress_done, job.progress_total))
        time.sleep(0.02)
    raise AssertionError(f"job {job_pk} is {job.status} after {seconds} s")


def _drained(worker: dict, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    with Connection(django_settings.CELERY_BROKER_URL) as conn:
        while time.monotonic() < deadline:
            waiting = conn.default_channel.client.llen(worker["queue"])  # Redis keeps a queue as a list
            active = celery_app.control.inspect(destination=[worker["nodename"]], connection=conn).active() or {}
            if not waiting and not any(active.values()):
                return
            time.sleep(0.2)
    raise AssertionError("the worker still had messages after 60 s")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_worker_processes_share_the_chunks_and_finish_once(settings):
    version, dataset = _forest_version()
    single_threaded = {"EXPLAIN_CHUNK_ROWS": "500", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with running_worker(concurrency=2, extra_env=single_threaded) as worker:
        job = evidence_job_request(kind="explanation", version=version, dataset=dataset, actor="user:1")
        done, seen = _watch(job.pk)
        assert done.status == "succeeded", done.error
        assert any(0 < rows < 4000 for rows, _ in seen), seen  # progress moved while the job ran
        assert all(total in (0, 4000) for _, total in seen)
        assert done.chunks.count() == 8 and done.progress_done == 4000

        for chunk in done.chunks.all():  # every message again, as a redelivery would
            explain_chunk.delay(chunk.pk)
        run_evidence_job.delay(job.pk)
        _drained(worker)
    after = EvidenceJob.objects.get(pk=job.pk)
    assert (after.result_sha256, after.progress_done, after.finished_at) == (
        done.result_sha256,
        4000,
        done.finished_at,
    )
    assert _events(job.pk, "evidence.completed") == 1
    assert _same_inputs_in_one_pass(done, settings).result_sha256 == done.result_sha256

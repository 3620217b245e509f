"""Jobs survive a broker outage and a worker killed mid-job, and finish exactly once.

These run against real processes: a Redis server of the test's own (stopped and started
again), and Celery workers on the test database.
"""

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import skops.io
from django.core.files import File
from sklearn.ensemble import RandomForestClassifier

from audits.models import AuditEvent
from core import roles
from evidence.models import EvidenceJob
from evidence.services import evidence_job_request, evidence_sweep
from governance.celery import app as celery_app
from registry.services import dataset_register, model_register, model_version_register
from tests.conftest import running_worker
from tests.factories import UserFactory
from tests.services import require

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
FEATURES = ["a", "b", "c", "d"]
SCHEMA = {
    "features": FEATURES,
    "target": "y",
    "positive_label": 1,
    "task": "binary_classification",
    "sensitive_features": ["group"],
}


class PrivateRedis:
    def __init__(self, workdir):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url, self.workdir, self.process = f"redis://127.0.0.1:{self.port}/0", workdir, None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    require(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@contextlib.contextmanager
def publishing_to(broker: str):
    """This process sends tasks to `broker` instead of running them in-process."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager, conf.task_publish_retry)
    saved_env = os.environ.get("CELERY_BROKER_URL")
    # Celery reads CELERY_BROKER_URL from the environment before its own settings.
    os.environ["CELERY_BROKER_URL"] = broker
    conf.broker_url, conf.task_always_eager, conf.task_publish_retry = broker, False, False
    _forget_connections()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager, conf.task_publish_retry = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        _forget_connections()


def _forget_connections() -> None:
    # Celery caches its broker connection and producers; drop them so the next send uses the new URL.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, 4)).round(4), columns=FEATURES)
    frame["group"] = rng.choice(["x", "y", "z"], n)
    frame["y"] = (frame.a + rng.normal(0, 1, n) > 0).astype(int)
    return frame


def _version(rows: int, trees: int):
    user = UserFactory(username="scientist", roles=[roles.DATA_SCIENTIST])  # in the personas' team
    model = model_register(user=user, name="reliability", risk_tier="low")
    frame = _frame(rows)
    dataset = dataset_register(
        user=user,
        name="eval",
        kind="evaluation",
        upload=File(io.BytesIO(frame.to_csv(index=False).encode()), name="eval.csv"),
        schema=SCHEMA,
    )
    forest = RandomForestClassifier(n_estimators=trees, max_depth=14, random_state=0).fit(
        _frame(3000, seed=1)[FEATURES], _frame(3000, seed=1)["y"]
    )
    buffer = io.BytesIO()
    skops.io.dump(forest, buffer)
    buffer.seek(0)
    version, _ = model_version_register(
        user=user,
        model=model,
        version="1.0.0",
        upload=File(buffer, name="m.skops"),
        metadata={},
        sample_dataset=dataset,
    )
    return version, dataset


def _wait_for(job_pk: int, status: str, seconds: float = 90) -> EvidenceJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = EvidenceJob.objects.get(pk=job_pk)
        if job.status == status:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_pk} is {job.status}, not {status}, after {seconds} s: {job.error}")


def _completions(job_pk: int) -> int:
    bodies = AuditEvent.objects.filter(action="evidence.completed").values_list("body", flat=True)
    return sum(json.loads(bytes(body))["object"] == f"audits.evidencejob:{job_pk}" for body in bodies)


def test_a_job_requested_while_the_broker_is_down_is_not_lost(private_redis):
    version, dataset = _version(rows=400, trees=5)
    with publishing_to(private_redis.url):
        private_redis.stop()
        job = evidence_job_request(kind="bias_audit", version=version, dataset=dataset, actor="user:1")
        job.refresh_from_db()
        assert (job.status, job.enqueued_at) == ("queued", None)  # committed, waiting for the broker
        private_redis.start()
        _forget_connections()  # the sweep runs in beat, a process with its own fresh connection
        with running_worker(broker=private_redis.url):
            assert evidence_sweep()["enqueued"] == 1
            done = _wait_for(job.pk, "succeeded")
    assert done.attempts == 1
    assert _completions(job.pk) == 1


def _sweep_until_requeued(seconds: float = 60) -> None:
    """Beat's sweep, run as often as it likes: it requeues the job once its heartbeat has been silent long enough."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        swept = evidence_sweep()
        if swept["requeued_or_failed"]:
            assert swept == {"requeued_or_failed": 1, "enqueued": 1}
            return
        time.sleep(0.2)
    raise AssertionError(f"the sweep did not requeue the job within {seconds} s")


def test_a_worker_killed_mid_job_is_picked_up_again_and_completes_exactly_once(private_redis, settings):
    """The whole worker (its process group) is SIGKILLed mid-job: its message stays unacknowledged in the
    broker, so only the sweep can bring the job back, once the row's heartbeat has stopped."""
    beat = {"JOB_HEARTBEAT_SECONDS": "1", "JOB_STALE_SECONDS": "6"}
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_STALE_SECONDS = 1, 6  # the sweep runs in this process
    rows = 200_000
    version, dataset = _version(rows=rows, trees=150)
    with publishing_to(private_redis.url):
        with running_worker(broker=private_redis.url, concurrency=1, extra_env=beat, own_group=True) as first:
            job = evidence_job_request(kind="bias_audit", version=version, dataset=dataset, actor="user:1")
            claimed = _wait_for(job.pk, "running").claimed_at
            deadline = time.monotonic() + 60
            while EvidenceJob.objects.get(pk=job.pk).heartbeat_at <= claimed:  # the worker's heartbeat beats
                assert time.monotonic() < deadline, "no heartbeat from the running job"
                time.sleep(0.05)
            os.killpg(first["process"].pid, signal.SIGKILL)
            first["process"].wait(timeout=30)
        killed = EvidenceJob.objects.get(pk=job.pk)
        assert (killed.status, killed.attempts) == ("running", 1)  # its worker is gone; nobody finished it
        with running_worker(broker=private_redis.url, concurrency=1, extra_env=beat):
            _sweep_until_requeued()
            deadline = time.monotonic() + 300
            while (current := EvidenceJob.objects.get(pk=job.pk)).status == "running" or current.attempts < 2:
                assert time.monotonic() < deadline, f"job {job.pk} is {current.status}: {current.error}"
                assert evidence_sweep()["requeued_or_failed"] == 0  # a live worker's job is left alone
                time.sleep(0.5)
    done = EvidenceJob.objects.get(pk=job.pk)
    assert (done.status, done.attempts) == ("succeeded", 2), done.error
    assert done.progress_done == done.progress_total
    assert done.result["n_rows"] == rows
    for feature in done.result["features"]:  # every row counted once, in the run that finished
        assert sum(group["count"] for group in feature["groups"]) == rows
    assert _completions(job.pk) == 1
    assert not AuditEvent.objects.filter(action="evidence.failed").exists()

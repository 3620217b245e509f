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
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import skops.io
from django.core.files import File
from django.utils import timezone
from sklearn.ensemble import RandomForestClassifier

from audits.models import AuditEvent
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
    user = UserFactory(username="scientist")
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


def test_a_worker_killed_mid_job_leaves_a_job_that_completes_exactly_once(private_redis):
    version, dataset = _version(rows=200_000, trees=150)
    with publishing_to(private_redis.url), running_worker(broker=private_redis.url, concurrency=1) as worker:
        job = evidence_job_request(kind="bias_audit", version=version, dataset=dataset, actor="user:1")
        _wait_for(job.pk, "running")
        children = subprocess.run(["pgrep", "-P", str(worker["process"].pid)], capture_output=True, text=True)
        for pid in children.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        time.sleep(2)
        assert EvidenceJob.objects.get(pk=job.pk).status == "running"  # its worker is gone; nobody finished it
        swept = evidence_sweep(now=timezone.now() + timedelta(hours=1))
        assert swept["requeued_or_failed"] == 1
        done = _wait_for(job.pk, "succeeded", seconds=180)
    assert done.attempts == 2
    assert _completions(job.pk) == 1

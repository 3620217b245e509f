"""Personas and real-service fixtures shared by the whole suite."""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.operations import DatabaseOperations as PgOperations
from django.test import override_settings
from kombu import Connection
from rest_framework.test import APIClient

from accounts.services import service_account_create
from audits.ledger.signing import generate_private_key_pem
from core import roles
from governance.celery import app as celery_app
from tests.factories import OTHER_TEAM, PERSONA_TEAM, UserFactory, team
from tests.services import reachable, require

# What makes a test touch the database, the broker or a worker (the closure of its fixtures, or a mark).
SERVICE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}
SERVICE_MARKS = ("django_db", "postgres", "redis", "worker")


def pytest_collection_modifyitems(config, items):
    """The second pass of `make test` (VERITY_TEST_PASS=services) exists to run on PostgreSQL, Redis and
    real workers what touches them; pure computations (hashing, metrics, explainers, parsing) already ran
    in the first pass, with the same code, and are not run twice. Nor are the property-based runs over the
    whole API (`fuzz`): bounded to fit the suite's time once, they run in the first pass."""
    if os.environ.get("VERITY_TEST_PASS") != "services":
        return
    keep, drop = [], []
    for item in items:
        uses = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        wanted = uses or any(item.get_closest_marker(m) for m in SERVICE_MARKS)
        (keep if wanted and not item.get_closest_marker("fuzz") else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.registry_fixtures"]


def _flush_past_audit_triggers(original):
    """Test-only: emptying tables between transactional tests must pass the trail's triggers.

    Only a superuser may set session_replication_role, which is why the application's own
    database user cannot do the same (docs/audit-trail.md).
    """

    def execute_sql_flush(self, sql_list):
        with self.connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            original(self, sql_list)
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    return execute_sql_flush


PgOperations.execute_sql_flush = _flush_past_audit_triggers(PgOperations.execute_sql_flush)


@pytest.fixture(autouse=True)
def _storage(settings, tmp_path):
    """Each test stores artifacts, datasets and reports in a folder of its own, never under var/."""
    settings.STORAGE_ROOT = tmp_path / "storage"
    settings.ARTIFACT_ROOT = tmp_path / "storage" / "artifacts"
    settings.DATASET_ROOT = tmp_path / "storage" / "datasets"
    settings.REPORT_ROOT = tmp_path / "storage" / "reports"
    settings.EVIDENCE_ROOT = tmp_path / "storage" / "evidence"
    # What each test's trail has signed: its database starts empty, so its high-water mark does too.
    settings.AUDIT_HIGH_WATER_FILE = tmp_path / "keys" / "audit_high_water.json"


@pytest.fixture(scope="session", autouse=True)
def _audit_signing_key(tmp_path_factory):
    """Service mode refuses to invent a signing key; the suite brings its own."""
    path = tmp_path_factory.mktemp("keys") / "audit_signing_key.pem"
    path.write_bytes(generate_private_key_pem())
    with override_settings(AUDIT_SIGNING_KEY_FILE=path):
        yield path


@pytest.fixture(scope="session", autouse=True)
def _plain_http():
    """The test client and the live server speak plain HTTP; a deployment redirects it to HTTPS
    (SECURE_SSL_REDIRECT, on by default when DEBUG is off, as it is in the suite's second pass)."""
    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def requester(db):
    return UserFactory(username="requester", roles=[roles.DATA_SCIENTIST])


@pytest.fixture
def officer(db):
    return UserFactory(username="officer", roles=[roles.COMPLIANCE_OFFICER], is_staff=True)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", roles=[roles.AUDITOR], is_staff=True)


@pytest.fixture
def outsider(db):
    """Authenticated, but holds no role."""
    return UserFactory(username="outsider")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def other_team_scientist(db):
    """A data scientist of another team: the right role, not the owning team (the forbidden case of writes)."""
    return UserFactory(username="other-scientist", roles=[roles.DATA_SCIENTIST], teams=[OTHER_TEAM])


@pytest.fixture
def other_team_ci(db):
    """A CI account of another team, with its token."""
    team(OTHER_TEAM)
    account, token = service_account_create(name="ci-other", team=OTHER_TEAM)
    account.token = token
    return account


@pytest.fixture
def other_team_ci_client(other_team_ci) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_team_ci.token}")
    return client


@pytest.fixture
def ci_account(db):
    team(PERSONA_TEAM)
    account, token = service_account_create(name="ci-main", team=PERSONA_TEAM)
    account.token = token
    return account


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def ci_client(ci_account) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ci_account.token}")
    return client


@pytest.fixture
def client_as():
    return _client_for


@pytest.fixture(autouse=True)
def _jobs_in_process_unless_worker(request):
    """Outside worker tests, jobs run in-process even when a broker is configured."""
    eager = request.node.get_closest_marker("worker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager or settings.CELERY_BROKER_URL is None
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def live_server_connections_closed(monkeypatch):
    """Clients of the live server (MLflow's, Chromium) keep their HTTP connections alive, and with them the
    server threads answering them: those threads close their database connection after each request, so none
    outlives the test and keeps the test database from being dropped at the end."""
    monkeypatch.setitem(connections.settings[DEFAULT_DB_ALIAS], "CONN_MAX_AGE", 0)


def _wait_for_worker(nodename: str, process: subprocess.Popen, broker: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited with {process.returncode}")
        with Connection(broker) as conn:  # a fresh connection: the app's own may point elsewhere
            if celery_app.control.ping(destination=[nodename], timeout=0.5, connection=conn):
                return
    raise RuntimeError("celery worker did not answer within 60 s")


@contextlib.contextmanager
def running_worker(
    *, broker: str | None = None, extra_env: dict | None = None, concurrency: int = 2, own_group: bool = False
):
    """A real Celery worker process on its own queue, using the test database; stopped on exit.

    With own_group it leads a process group of its own, which a test may kill whole (os.killpg)."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    nodename = f"{queue}@localhost"
    env = {
        **os.environ,
        "CELERY_QUEUE": queue,
        "DATABASE_URL": _test_database_url(),
        "STORAGE_ROOT": str(settings.STORAGE_ROOT),
        **(extra_env or {}),
    }
    if broker:
        env["CELERY_BROKER_URL"] = env["CELERY_RESULT_BACKEND"] = broker
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "governance",
        "worker",
        "-Q",
        queue,
        "-n",
        nodename,
        "-c",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
        "-l",
        "WARNING",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=own_group)
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        _wait_for_worker(nodename, process, broker or settings.CELERY_BROKER_URL, time.monotonic() + 60)
        yield {"queue": queue, "nodename": nodename, "process": process}
    finally:
        celery_app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker process on the configured broker and the test database."""
    broker = settings.CELERY_BROKER_URL
    require(bool(broker) and reachable(broker, 6379), f"no Celery broker reachable at {broker!r}")
    with running_worker() as worker:
        yield worker


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

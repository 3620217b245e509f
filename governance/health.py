"""Checks behind /readyz: the database, the audit trail, the broker and at least one worker.

/healthz (liveness) runs none of them: it answers from the process, so a probe never waits on a dependency
and never tells a stranger where the database or the broker lives. Every check here runs with a short
timeout; a check that depends on another (the worker on the broker) is reported as not checked when that
one failed, and the remaining checks still run.
"""

from django.conf import settings
from django.db import connection
from kombu import Connection

from audits.selectors import audit_trail_health
from governance.celery import app


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=settings.HEALTH_CHECK_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_CHECK_TIMEOUT)
    return "ok"


def check_worker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=settings.HEALTH_CHECK_TIMEOUT) as conn:
        replies = app.control.ping(timeout=settings.HEALTH_CHECK_TIMEOUT, connection=conn)
    if not replies:
        raise RuntimeError("no worker answered a ping")
    return f"ok ({len(replies)} answering)"


def check_trail() -> str:
    health = audit_trail_health()
    if not health.ok:
        raise RuntimeError(health.summary)
    return health.summary


CHECKS = {"database": check_database, "trail": check_trail, "broker": check_broker, "worker": check_worker}
# A check that needs another to have passed first: asking a worker through a dead broker only waits.
REQUIRES = {"worker": "broker"}


def run_checks() -> tuple[bool, dict[str, dict]]:
    results, healthy = {}, True
    for name, check in CHECKS.items():
        needed = REQUIRES.get(name)
        if needed in results and not results[needed]["ok"]:
            healthy = False
            results[name] = {"ok": False, "status": f"not checked: {needed} unreachable"}
            continue
        try:
            results[name] = {"ok": True, "status": check()}
        except Exception as exc:  # any failure of a dependency is reported, not raised
            healthy = False
            results[name] = {"ok": False, "status": f"{type(exc).__name__}: {exc}"[:300]}
    return healthy, results

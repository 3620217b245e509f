"""Checks behind /healthz: the database, the broker and at least one worker."""

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


# The trail comes before the broker, whose failure ends the checks.
CHECKS = {"database": check_database, "trail": check_trail, "broker": check_broker, "worker": check_worker}


def run_checks() -> tuple[bool, dict[str, dict]]:
    results, healthy = {}, True
    for name, check in CHECKS.items():
        try:
            results[name] = {"ok": True, "status": check()}
        except Exception as exc:  # any failure of a dependency is reported, not raised
            healthy = False
            results[name] = {"ok": False, "status": f"{type(exc).__name__}: {exc}"[:300]}
        if name == "broker" and not results[name]["ok"]:
            results["worker"] = {"ok": False, "status": "not checked: broker unreachable"}
            break
    return healthy, results

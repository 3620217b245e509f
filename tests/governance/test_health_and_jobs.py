import pytest
from django.test import override_settings
from django.urls import reverse

from governance.celery import app as celery_app
from governance.tasks import ping
from tests.services import reachable, require

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_is_ok_on_the_embedded_default(client):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["failed"] == []
    assert body["checks"]["database"] == {"ok": True, "status": "ok"}
    assert body["checks"]["broker"]["status"] == "in-process"


@pytest.mark.django_db
def test_healthz_names_an_unreachable_broker(client):
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=CLOSED_PORT_BROKER, HEALTH_CHECK_TIMEOUT=1
    ):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker", "worker"]
    assert body["checks"]["database"]["ok"] is True
    assert "Error" in body["checks"]["broker"]["status"]


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_names_a_missing_worker(client, settings):
    require(reachable(settings.CELERY_BROKER_URL or "", 6379), "no Redis broker configured")
    # A database number no worker listens on: the broker answers, no worker does.
    idle_broker = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/13"
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=idle_broker, HEALTH_CHECK_TIMEOUT=1):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker"]


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db
def test_healthz_is_ok_with_a_real_worker(client, celery_worker, settings):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"]["status"].startswith("ok")


@pytest.mark.redis
@pytest.mark.worker
def test_a_task_round_trips_through_a_real_worker(celery_worker):
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
    assert result.status == "SUCCESS"


def test_jobs_run_in_process_without_a_broker():
    assert ping.delay().get(timeout=1) == "pong"


def test_the_celery_app_is_configured_for_idempotent_jobs():
    conf = celery_app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_time_limit > conf.task_soft_time_limit > 0

import pytest
from django.test import override_settings
from django.urls import reverse

from governance import health
from governance.celery import app as celery_app
from governance.tasks import ping
from tests.services import reachable, require

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


@pytest.mark.django_db
def test_healthz_answers_from_the_process_alone(client, django_assert_num_queries):
    # No database, broker or worker is asked: a closed broker port changes nothing, and nothing names a host.
    closed = override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=CLOSED_PORT_BROKER)
    with closed, django_assert_num_queries(0):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_refuses_anonymous_callers_in_the_error_shape(anon_client):
    response = anon_client.get(reverse("readyz"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "checks" not in response.json()


@pytest.mark.parametrize("persona", ["requester", "outsider"])
def test_readyz_refuses_those_who_do_not_read_everything(db, client_as, request, persona):
    response = client_as(request.getfixturevalue(persona)).get(reverse("readyz"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_readyz_is_ok_on_the_embedded_default(client_as, officer):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        response = client_as(officer).get(reverse("readyz"))
    assert response.status_code == 200
    body = response.json()
    assert body["failed"] == []
    assert body["checks"]["database"] == {"ok": True, "status": "ok"}
    assert body["checks"]["broker"]["status"] == "in-process"


def test_readyz_names_an_unreachable_broker_and_still_runs_the_other_checks(client_as, auditor, monkeypatch):
    # A check registered after the worker's still runs when the broker is down.
    monkeypatch.setitem(health.CHECKS, "extra", lambda: "checked")
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=CLOSED_PORT_BROKER, HEALTH_CHECK_TIMEOUT=1
    ):
        response = client_as(auditor).get(reverse("readyz"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker", "worker"]
    assert body["checks"]["database"]["ok"] is True
    assert "Error" in body["checks"]["broker"]["status"]
    assert body["checks"]["worker"]["status"] == "not checked: broker unreachable"
    assert body["checks"]["extra"] == {"ok": True, "status": "checked"}


def test_readyz_reports_every_registered_check(client_as, officer, monkeypatch):
    def failing():
        raise RuntimeError("the trail does not verify at seq 7")

    monkeypatch.setitem(health.CHECKS, "trail", failing)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=True):
        response = client_as(officer).get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["trail"]
    assert response.json()["checks"]["trail"]["status"] == "RuntimeError: the trail does not verify at seq 7"


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_names_a_missing_worker(client_as, officer, settings):
    require(reachable(settings.CELERY_BROKER_URL or "", 6379), "no Redis broker configured")
    # A database number no worker listens on: the broker answers, no worker does.
    idle_broker = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/13"
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=idle_broker, HEALTH_CHECK_TIMEOUT=1):
        response = client_as(officer).get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker"]


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db
def test_readyz_is_ok_with_a_real_worker(client_as, officer, celery_worker, settings):
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        response = client_as(officer).get(reverse("readyz"))
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

"""Without a broker the serving process runs the periodic schedule, so a failed webhook is retried there too.

Reproduced on the previous release: in the embedded default a failed delivery was never retried.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audits.services import audit_event_append
from governance import embedded_beat
from governance.embedded_beat import EmbeddedBeat, run_task
from registry.models import WebhookDelivery
from tests.registry.test_webhooks import _subscribe, receiver  # noqa: F401

pytestmark = pytest.mark.django_db


def test_each_entry_runs_at_start_then_at_its_interval():
    ran = []
    beat = EmbeddedBeat({"a": {"task": "t.a", "schedule": 10}, "b": {"task": "t.b", "schedule": 60}}, ran.append, now=0)
    assert beat.tick(0) == ["a", "b"]
    assert beat.tick(5) == []
    assert beat.seconds_to_next(5) == 5
    assert beat.tick(10) == ["a"]
    assert beat.tick(60) == ["a", "b"]
    assert ran == ["t.a", "t.b", "t.a", "t.a", "t.b"]


def test_a_failing_job_does_not_stop_the_others(caplog):
    def run(task):
        if task == "t.bad":
            raise RuntimeError("broken")
        ran.append(task)

    ran = []
    beat = EmbeddedBeat(
        {"bad": {"task": "t.bad", "schedule": 1}, "good": {"task": "t.good", "schedule": 1}}, run, now=0
    )
    assert beat.tick(0) == ["bad", "good"]
    assert ran == ["t.good"]
    assert "Periodic job bad failed" in caplog.text


def test_every_periodic_job_of_the_schedule_runs_in_process():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        run_task(entry["task"])  # raises if a job is missing or broken
    assert set(settings.CELERY_BEAT_SCHEDULE) >= {"webhooks-dispatch-due", "approvals-expire", "audit-checkpoint"}


def test_a_failed_delivery_is_retried_by_the_in_process_schedule(
    settings,
    client_as,
    admin_user,
    receiver,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    server = receiver(failures=1)
    _subscribe(client_as(admin_user), server.url, ["drift.*"])
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="drift.alert")
    delivery = WebhookDelivery.objects.get(action="drift.alert")
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # 503, retry due in 30 s
    schedule = {"webhooks-dispatch-due": settings.CELERY_BEAT_SCHEDULE["webhooks-dispatch-due"]}
    beat = EmbeddedBeat(schedule, run_task, now=0)
    with django_capture_on_commit_callbacks(execute=True):
        beat.tick(0)
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1  # not due yet: not sent early
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        beat.tick(60)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert [code for code in delivery.attempt_log.values_list("status_code", flat=True)] == [503, 204]
    assert len(server.received) == 2


def test_the_thread_starts_only_where_the_setting_says(settings):
    settings.EMBEDDED_BEAT = False
    assert embedded_beat.start() is None

"""Background work whose state lives in a row (evidence jobs, reports): the mechanics they share.

A row is enqueued after the commit that creates it; when the broker is down the row stays
un-enqueued and the periodic sweep sends it later, so a request is never lost. A worker claims the
row with a conditional UPDATE, so a redelivered message (acks_late) finds nothing to do. The sweep
also requeues rows whose worker died, and fails them after a few attempts.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
MAX_ATTEMPTS = 3


def row_enqueue(model, pk: int, send: Callable[[int], object]) -> bool:
    try:
        send(pk)
    except Exception:  # the broker is down: the row stays un-enqueued and the sweep retries
        log.warning("%s %s could not be enqueued; the sweep will retry", model._meta.verbose_name, pk, exc_info=True)
        return False
    model.objects.filter(pk=pk, enqueued_at__isnull=True).update(enqueued_at=timezone.now())
    return True


def row_claim(model, pk: int) -> bool:
    claimed = model.objects.filter(pk=pk, status=QUEUED).update(
        status=RUNNING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    return bool(claimed)


def row_fail(model, pk: int, *, message: str) -> bool:
    """Fails a row that has not finished; True only for the caller whose update recorded the failure."""
    updated = (
        model.objects.filter(pk=pk)
        .exclude(status__in=[SUCCEEDED, FAILED])
        .update(status=FAILED, error=message[:5000], finished_at=timezone.now())
    )
    return bool(updated)


def row_sweep(model, *, enqueue: Callable[[int], bool], fail: Callable, related: tuple[str, ...], now=None) -> dict:
    """Requeues or fails rows whose worker died; enqueues rows the broker never got."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    dead = list(model.objects.filter(status=RUNNING, claimed_at__lt=stale).select_related(*related))
    for row in dead:
        if row.attempts >= MAX_ATTEMPTS:
            fail(row, message=f"the worker running it died {row.attempts} times")
        else:
            model.objects.filter(pk=row.pk, status=RUNNING).update(status=QUEUED, enqueued_at=None)
    lost = model.objects.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale), status=QUEUED)
    sent = sum(enqueue(pk) for pk in lost.values_list("pk", flat=True))
    return {"requeued_or_failed": len(dead), "enqueued": sent}

"""Background work whose state lives in a row (evidence jobs, reports, monitoring windows): the mechanics they share.

A row is enqueued after the commit that creates it; when the broker is down the row stays
un-enqueued and the periodic sweep sends it later, so a request is never lost. A worker claims the
row with a conditional UPDATE, so a redelivered message (acks_late) finds nothing to do.

While a claimed row's work runs, a daemon thread beside it refreshes the row's ``heartbeat_at``
(``row_heartbeat``). A worker that is killed stops beating with it, so the sweep finds its row silent
for ``JOB_STALE_SECONDS`` and puts it back in the queue, or fails it once its workers have died
``MAX_ATTEMPTS`` times. Each claim is numbered by ``attempts``: only the claim that still holds the row
(``row_claimed``) may beat, finish or fail it, so a stalled worker that wakes up after its row was
claimed again changes nothing.
"""

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models import F, Q, QuerySet
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
    now = timezone.now()
    claimed = model.objects.filter(pk=pk, status=QUEUED).update(
        status=RUNNING, claimed_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    return bool(claimed)


def row_claimed(model, row) -> QuerySet:
    """The row while the claim that loaded it (its attempt) still holds it: what may beat or finish it."""
    return model.objects.filter(pk=row.pk, status=RUNNING, attempts=row.attempts)


def row_fail(model, pk: int, *, message: str, attempt: int | None = None) -> bool:
    """Fails a row that has not finished; True only for the caller whose update recorded the failure.

    With ``attempt``, only while that claim holds the row: a stalled worker cannot fail a newer run."""
    unfinished = model.objects.filter(pk=pk).exclude(status__in=[SUCCEEDED, FAILED])
    if attempt is not None:
        unfinished = unfinished.filter(attempts=attempt)
    updated = unfinished.update(status=FAILED, error=message[:5000], finished_at=timezone.now())
    return bool(updated)


class _Heartbeat(threading.Thread):
    """Refreshes ``heartbeat_at`` on the given rows every ``every`` seconds until stopped.

    It uses a database connection of its own (connections are per thread) and closes it when it ends;
    a failed beat is logged and the next one tried, so a database hiccup never ends the job."""

    def __init__(self, rows: tuple[QuerySet, ...], every: float):
        super().__init__(name="row-heartbeat", daemon=True)
        self.rows, self.every, self.stopped = rows, every, threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                try:
                    _beat(self.rows)
                except Exception:
                    log.warning("a job heartbeat could not be recorded; trying again", exc_info=True)
        finally:
            connections.close_all()


def _beat(rows: tuple[QuerySet, ...]) -> None:
    now = timezone.now()
    for row in rows:
        row.update(heartbeat_at=now)


@contextlib.contextmanager
def row_heartbeat(*rows: QuerySet, every: float | None = None) -> Iterator[None]:
    """Keeps the rows' heartbeat fresh while the block runs: the sweep takes a silent row's worker for dead.

    The first beat is recorded before the block starts (it marks a piece of work as started)."""
    _beat(rows)
    thread = _Heartbeat(rows, settings.JOB_HEARTBEAT_SECONDS if every is None else every)
    thread.start()
    try:
        yield
    finally:
        thread.stopped.set()  # a beat still in flight finds the row finished and changes nothing
        thread.join(timeout=5)


def _heard_since(moment) -> Q:
    """Rows heard from at or after the moment: by their heartbeat, or their claim before heartbeats existed."""
    return Q(heartbeat_at__gte=moment) | Q(heartbeat_at__isnull=True, claimed_at__gte=moment)


def _silent_since(moment) -> Q:
    return Q(heartbeat_at__lt=moment) | Q(heartbeat_at__isnull=True, claimed_at__lt=moment)


def row_sweep(
    model,
    *,
    enqueue: Callable[[int], bool],
    fail: Callable,
    related: tuple[str, ...],
    now=None,
    waiting: Q | None = None,
) -> dict:
    """Requeues or fails rows whose worker died; enqueues rows the broker never got.

    A running row is dead when its heartbeat (its claim's time, for rows claimed before heartbeats) is
    older than JOB_STALE_SECONDS. ``waiting`` marks running rows whose remaining work sits in the broker
    (an explanation's unstarted chunks): those are trusted as long as queued messages are."""
    now = now or timezone.now()
    lost = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)  # a queued message has surely been lost
    silent = _silent_since(now - timedelta(seconds=settings.JOB_STALE_SECONDS))
    running = model.objects.filter(status=RUNNING)
    dead_rows = running.filter(silent)
    if waiting is not None:
        dead_rows = dead_rows.exclude(waiting & _heard_since(lost))
    dead = list(dead_rows.select_related(*related))
    for row in dead:
        if row.attempts >= MAX_ATTEMPTS:
            fail(row, message=f"the worker running it died {row.attempts} times (its heartbeat stopped)")
        else:  # only if it is still silent and still that claim's: a late beat keeps the row with its worker
            running.filter(silent, pk=row.pk, attempts=row.attempts).update(status=QUEUED, enqueued_at=None)
    lost_rows = model.objects.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=lost), status=QUEUED)
    sent = sum(enqueue(pk) for pk in lost_rows.values_list("pk", flat=True))
    return {"requeued_or_failed": len(dead), "enqueued": sent}

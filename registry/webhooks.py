"""Webhooks: deliveries are written with the audit event they announce, then sent by workers,
signed with HMAC-SHA256 over timestamp and body, retried with backoff, every attempt logged."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from registry.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

SIGNATURE_HEADER = "X-Verity-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def matches(patterns: list[str], action: str) -> bool:
    return any(p == "*" or p == action or (p.endswith(".*") and action.startswith(p[:-1])) for p in patterns)


def fan_out(action: str):
    """The after_append hook: finds the subscribers before the chain is locked and returns the
    function that writes their deliveries (the outbox) once the event exists, or None."""
    with connection.cursor() as cursor:
        # Every audit event runs this: one plain statement, no ORM query to compile each time.
        cursor.execute(_ACTIVE_SQL)
        active = cursor.fetchall()
    subscribers = [pk for pk, patterns in active if matches(_json(patterns), action)]
    if not subscribers:
        return None
    return lambda event: _write_deliveries(event, subscribers)


_ACTIVE_SQL = f"SELECT id, event_types FROM {WebhookSubscription._meta.db_table} WHERE active"  # noqa: S608


def _json(value):
    return json.loads(value) if isinstance(value, str | bytes) else value  # SQLite keeps JSON as text


def _write_deliveries(event, subscribers: list[int]) -> None:
    record = json.loads(bytes(event.body))
    for subscription in subscribers:
        delivery = WebhookDelivery.objects.create(
            subscription_id=subscription,
            event_seq=event.seq,
            action=event.action,
            payload={**record, "hash": event.hash},
            next_attempt_at=timezone.now(),
        )
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))


def _enqueue(delivery_pk: int, countdown: float = 0) -> None:
    from registry.tasks import deliver_webhook

    if countdown and settings.CELERY_TASK_ALWAYS_EAGER:
        return  # no broker to wait for it: the in-process schedule (dispatch_due) sends it when due

    deliver_webhook.apply_async((delivery_pk,), countdown=countdown)


def _claim(delivery_pk: int) -> bool:
    # A conditional UPDATE: a redelivered or duplicated task finds nothing to claim.
    return (
        WebhookDelivery.objects.filter(
            pk=delivery_pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).update(status=WebhookDelivery.Status.SENDING)
        == 1
    )


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = int(time.time())
    # Subscriptions are URLField-validated (http/https only), set by superusers.
    request = urllib.request.Request(  # noqa: S310
        delivery.subscription.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Verity-Webhooks/1",
            "X-Verity-Event": delivery.action,
            "X-Verity-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: sign(delivery.subscription.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def deliver(delivery_pk: int) -> str | None:
    """Sends one attempt. Returns the delivery's status, or None when it was not ours to send."""
    if not _claim(delivery_pk):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_pk)
    started = time.monotonic()
    status_code, error = _post(delivery)  # outside any transaction: no lock held during network I/O
    with transaction.atomic():
        return _record_attempt(delivery, status_code, error, int((time.monotonic() - started) * 1000))


def _record_attempt(delivery: WebhookDelivery, status_code: int | None, error: str, duration: int) -> str:
    delivery.attempts += 1
    WebhookAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, status_code=status_code, error=error, duration_ms=duration
    )
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delay = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1)
        delivery.status = WebhookDelivery.Status.PENDING
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        transaction.on_commit(lambda: _enqueue(delivery.pk, countdown=delay))
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    return delivery.status


def dispatch_due() -> int:
    """The outbox's sweep: sends what is due (a retry whose time came, or a delivery whose enqueue
    was lost while the broker was down) and frees deliveries whose worker died mid-send."""
    stale = timezone.now() - timedelta(seconds=settings.WEBHOOK_TIMEOUT * 4)
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SENDING, next_attempt_at__lt=stale).update(
        status=WebhookDelivery.Status.PENDING
    )
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    for pk in due:
        _enqueue(pk)
    return len(due)

"""Webhooks: deliveries are written with the audit event they announce, then sent by workers,
signed with HMAC-SHA256 over timestamp and body, retried with backoff, every attempt logged."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import outbound_http
from core.outbound import DestinationRefused
from registry.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from registry.webhook_services import InvalidToken, secret_header_value, webhook_destination_check

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
    _write(subscribers, event.seq, event.action, {**record, "hash": event.hash})


def _write(subscribers: list[int], seq: int, action: str, payload: dict) -> None:
    for subscription in subscribers:
        delivery = WebhookDelivery.objects.create(
            subscription_id=subscription,
            event_seq=seq,
            action=action,
            payload=payload,
            next_attempt_at=timezone.now(),
        )
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk))


CHECKPOINT_ACTION = "checkpoint.created"


def checkpoint_publish(checkpoint) -> None:
    """The after_checkpoint hook: every signed checkpoint goes to the subscribers of checkpoint.created, so
    copies of what was signed exist outside the service (a receiver checks the signature over `body` with the
    service's public key, `verify --public-key`). Written in the checkpoint's transaction, sent after commit."""
    with connection.cursor() as cursor:
        cursor.execute(_ACTIVE_SQL)
        active = cursor.fetchall()
    subscribers = [pk for pk, patterns in active if matches(_json(patterns), CHECKPOINT_ACTION)]
    if not subscribers:
        return
    payload = {
        "action": CHECKPOINT_ACTION,
        "size": checkpoint.size,
        "head": checkpoint.head,
        "ts": checkpoint.ts.isoformat(),
        "signature": checkpoint.signature,
        "key_fingerprint": checkpoint.key_fingerprint,
        "body": bytes(checkpoint.body).decode(),
    }
    _write(subscribers, checkpoint.size, CHECKPOINT_ACTION, payload)


def _enqueue(delivery_pk: int, countdown: float = 0) -> None:
    from registry.tasks import deliver_webhook

    if countdown and settings.CELERY_TASK_ALWAYS_EAGER:
        return  # no broker to wait for it: the in-process schedule (dispatch_due) sends it when due

    deliver_webhook.apply_async((delivery_pk,), countdown=countdown)


def _claim(delivery_pk: int) -> bool:
    # A conditional UPDATE: a redelivered or duplicated task finds nothing to claim.
    return (
        WebhookDelivery.objects.filter(
            pk=delivery_pk,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=timezone.now(),
            subscription__active=True,
        ).update(status=WebhookDelivery.Status.SENDING)
        == 1
    )


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """One attempt: (status code, error, final). The destination is checked again now, the request goes to
    the address that was checked, and nothing is followed: a redirect is a failed attempt."""
    subscription = delivery.subscription
    try:
        checked = webhook_destination_check(subscription.url)
    except DestinationRefused as exc:
        return None, f"destination refused: {exc}"[:500], True
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Verity-Webhooks/1",
        "X-Verity-Event": delivery.action,
        "X-Verity-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: sign(subscription.secret, int(time.time()), body),
    }
    if subscription.secret_header_name:
        try:
            headers[subscription.secret_header_name] = secret_header_value(subscription)
        except InvalidToken:
            return None, "the secret header cannot be decrypted (FIELD_ENCRYPTION_KEY or SECRET_KEY changed)", True
    try:
        status_code = outbound_http.post(checked, body, headers, timeout=settings.WEBHOOK_TIMEOUT)
    except OSError as exc:
        return None, (str(exc) or type(exc).__name__)[:500], False
    if 300 <= status_code < 400:
        return status_code, f"HTTP {status_code}: redirects are not followed", False
    return status_code, "" if 200 <= status_code < 300 else f"HTTP {status_code}", False


def _cancel_if_inactive(delivery_pk: int) -> None:
    # Checked when it is sent: a delivery queued before its subscription was deactivated goes nowhere.
    WebhookDelivery.objects.filter(
        pk=delivery_pk, status=WebhookDelivery.Status.PENDING, subscription__active=False
    ).update(status=WebhookDelivery.Status.CANCELLED)


def deliver(delivery_pk: int) -> str | None:
    """Sends one attempt. Returns the delivery's status, or None when it was not ours to send."""
    _cancel_if_inactive(delivery_pk)
    if not _claim(delivery_pk):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_pk)
    started = time.monotonic()
    status_code, error, final = _post(delivery)  # outside any transaction: no lock held during network I/O
    with transaction.atomic():
        duration = int((time.monotonic() - started) * 1000)
        return _record_attempt(delivery, status_code, error, duration, final=final)


def _record_attempt(
    delivery: WebhookDelivery, status_code: int | None, error: str, duration: int, *, final: bool = False
) -> str:
    delivery.attempts += 1
    WebhookAttempt.objects.create(
        delivery=delivery, number=delivery.attempts, status_code=status_code, error=error, duration_ms=duration
    )
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
    elif final or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
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
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, subscription__active=False).update(
        status=WebhookDelivery.Status.CANCELLED
    )
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    for pk in due:
        _enqueue(pk)
    return len(due)

"""Webhook subscriptions: who may receive events (a checked destination), their secret header, deactivation.

A destination is refused at registration and again at every delivery (``webhook_destination_check``): the
service sends nothing to loopback, private, link-local, multicast or reserved addresses unless the operator
opens a network in OUTBOUND_ALLOWED_NETWORKS, and never to a URL that carries credentials.
"""

import re
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audits.services import actor_for, audit_event_append, object_ref
from core import outbound
from core.errors import DomainError
from core.secret_box import InvalidToken, secret_box
from registry.models import WebhookDelivery, WebhookSubscription

__all__ = ["InvalidToken", "secret_header_value", "webhook_subscription_create", "webhook_subscription_deactivate"]

MASK = "********"
# Headers the service sets itself, or that change how the request is framed or routed.
_RESERVED_HEADERS = {"host", "content-type", "content-length", "transfer-encoding", "connection", "user-agent"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
_VALUE = re.compile(r"[\x20-\x7e]{1,1000}")


def webhook_destination_check(url: str) -> outbound.CheckedDestination:
    """The checked destination; raises outbound.DestinationRefused."""
    return outbound.destination_check(url, allowed_networks=outbound.networks(settings.OUTBOUND_ALLOWED_NETWORKS))


def _refuse(field: str, message: str):
    raise DomainError(
        "forbidden_destination" if field == "url" else "invalid", f"{field}: {message}", fields={field: [message]}
    )


def _checked_url(url: str) -> str:
    try:
        webhook_destination_check(url)
    except outbound.DestinationRefused as exc:
        _refuse("url", f"{exc}. Open a network in OUTBOUND_ALLOWED_NETWORKS to allow it.")
    return url


def _secret_header(header: dict | None) -> tuple[str, str]:
    if not header:
        return "", ""
    name, value = header["name"], header["value"]
    if not _TOKEN.fullmatch(name) or name.lower() in _RESERVED_HEADERS or name.lower().startswith("x-verity-"):
        _refuse("secret_header.name", "a header name of your own (letters, digits, -), not one the service sets.")
    if not _VALUE.fullmatch(value):
        _refuse("secret_header.value", "1 to 1000 printable ASCII characters.")
    return name, _box().encrypt(value.encode()).decode()


def _box():
    return secret_box(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def secret_header_value(subscription: WebhookSubscription) -> str:
    """The secret header's value in clear, for a delivery; raises InvalidToken when the key changed."""
    return _box().decrypt(subscription.secret_header_value.encode()).decode()


@transaction.atomic
def webhook_subscription_create(
    *, user, url: str, event_types: list[str], secret_header: dict | None = None
) -> WebhookSubscription:
    """A subscription to a checked destination. Its event names the header, never its value."""
    header_name, header_value = _secret_header(secret_header)
    subscription = WebhookSubscription.objects.create(
        created_by=user,
        url=_checked_url(url),
        event_types=event_types,
        secret=secrets.token_urlsafe(32),
        secret_header_name=header_name,
        secret_header_value=header_value,
    )
    audit_event_append(
        actor=actor_for(user),
        action="webhook.subscribed",
        object_ref=object_ref(subscription),
        data={"url": subscription.url, "event_types": subscription.event_types, "secret_header": header_name or None},
    )
    return subscription


@transaction.atomic
def webhook_subscription_deactivate(*, user, subscription: WebhookSubscription) -> WebhookSubscription:
    """Stops the subscription; what was queued for it and not yet sent is cancelled with it."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.active:
        return subscription
    subscription.active = False
    subscription.save(update_fields=["active"])
    cancelled = WebhookDelivery.objects.filter(subscription=subscription, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.CANCELLED, next_attempt_at=timezone.now()
    )
    audit_event_append(
        actor=actor_for(user),
        action="webhook.deactivated",
        object_ref=object_ref(subscription),
        data={"url": subscription.url, "deliveries_cancelled": cancelled},
    )
    return subscription

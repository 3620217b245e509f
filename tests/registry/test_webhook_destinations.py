"""Where webhooks may deliver: refused destinations at registration and at delivery, no redirects, the
secret header, deactivation of queued deliveries, and checkpoints published to subscribers."""

import json
import socket

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from audits.services import audit_event_append, checkpoint_create
from core.secret_box import secret_box
from registry.models import WebhookDelivery, WebhookSubscription
from registry.webhooks import deliver, dispatch_due
from tests.registry.test_webhooks import Receiver, _subscribe

pytestmark = pytest.mark.django_db

SSRF_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://10.0.0.5:6379/",
    "http://localhost:5432/",
    "http://127.0.0.1:31555/hook",
    "http://2130706433/hook",
    "http://0x7f.0.0.1/hook",
    "http://[::1]/hook",
    "http://0.0.0.0:8000/",
]


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receivers listen on loopback
    made = []
    yield lambda redirect=None: made.append(Receiver(redirect=redirect)) or made[-1]
    for server in made:
        server.close()


def _post(client, url, **extra):
    return client.post(reverse("v1:webhooks"), {"url": url, "event_types": ["*"], **extra}, format="json")


@pytest.mark.parametrize("url", SSRF_URLS)
def test_internal_destinations_are_refused_at_registration(client_as, admin_user, url):
    response = _post(client_as(admin_user), url)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] in ("forbidden_destination", "invalid") and "url" in error["fields"]
    assert not WebhookSubscription.objects.exists()


def test_credentials_in_the_url_are_refused_naming_the_field(client_as, admin_user, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = _post(client_as(admin_user), "http://hook:s3cret@127.0.0.1:9/hook")
    assert response.status_code == 400
    assert "credentials" in response.json()["error"]["fields"]["url"][0]
    assert not AuditEvent.objects.filter(action="webhook.subscribed").exists()


def test_an_allow_listed_network_is_accepted(client_as, admin_user, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert _post(client_as(admin_user), "http://10.0.0.5:6379/").status_code == 201


def _queue(admin_user, url, **fields):
    """A subscription as if registered when its destination was allowed, and one event queued for it."""
    subscription = WebhookSubscription.objects.create(
        url=url, event_types=["*"], secret="s", created_by=admin_user, **fields
    )
    audit_event_append(actor="system", action="test.queued")
    return subscription, WebhookDelivery.objects.get(subscription=subscription, action="test.queued")


def test_a_redirect_is_a_failed_delivery_and_is_not_followed(
    client_as,
    admin_user,
    receiver,
    django_capture_on_commit_callbacks,
):
    elsewhere = receiver()
    server = receiver(redirect=elsewhere.url)
    _subscribe(client_as(admin_user), server.url, ["test.*"])
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="test.redirected")
    delivery = WebhookDelivery.objects.get(action="test.redirected")
    assert len(server.received) == 1 and elsewhere.received == []
    assert delivery.status == "pending" and delivery.attempts == 1
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code == 302 and "redirects are not followed" in attempt.error


def test_a_name_that_rebinds_to_loopback_is_refused_at_delivery(
    client_as,
    admin_user,
    receiver,
    monkeypatch,
    settings,
):
    server = receiver()
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    port = server.server.server_port
    answers = iter(["93.184.215.14", "127.0.0.1"])  # public when registered, loopback when delivered

    def rebinding(host, port_, *args, **kwargs):
        assert host == "hooks.example.org"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port_))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    sub = _subscribe(client_as(admin_user), f"http://hooks.example.org:{port}/hook", ["test.*"])
    delivery = WebhookDelivery.objects.create(
        subscription_id=sub["id"], event_seq=1, action="test.rebound", payload={}, next_attempt_at="2000-01-01T00:00Z"
    )
    assert deliver(delivery.pk) == "failed"  # at once: a refused destination is not retried
    (attempt,) = delivery.attempt_log.all()
    assert "127.0.0.1 is a loopback address" in attempt.error
    assert server.received == []


def test_a_deactivated_webhook_sends_nothing_already_queued(
    client_as,
    admin_user,
    receiver,
    django_capture_on_commit_callbacks,
):
    server = receiver()
    with django_capture_on_commit_callbacks(execute=False):  # queued, its task not yet run
        subscription, queued = _queue(admin_user, server.url)
    response = client_as(admin_user).post(reverse("v1:webhook-deactivate", args=[subscription.pk]))
    assert response.status_code == 200 and response.json()["active"] is False
    assert deliver(queued.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_due()
    queued.refresh_from_db()
    assert queued.status == "cancelled" and queued.attempts == 0 and server.received == []
    (event,) = AuditEvent.objects.filter(action="webhook.deactivated")
    assert json.loads(bytes(event.body))["data"]["deliveries_cancelled"] == 1


def test_a_delivery_queued_for_a_webhook_deactivated_behind_its_back_is_cancelled(
    admin_user,
    receiver,
    django_capture_on_commit_callbacks,
):
    server = receiver()
    with django_capture_on_commit_callbacks(execute=False):
        subscription, queued = _queue(admin_user, server.url)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)  # e.g. in the admin, in bulk
    assert deliver(queued.pk) is None
    queued.refresh_from_db()
    assert queued.status == "cancelled" and server.received == []


def test_the_secret_header_is_encrypted_sent_masked_and_never_in_an_event(
    client_as,
    admin_user,
    receiver,
    settings,
    django_capture_on_commit_callbacks,
):
    server = receiver()
    value = "key-8c1f0e-very-secret"
    header = {"name": "X-Api-Key", "value": value}
    created = _post(client_as(admin_user), server.url, secret_header=header)
    assert created.status_code == 201, created.json()
    assert created.json()["secret_header"] == {"name": "X-Api-Key", "value": "********"}
    listed = client_as(admin_user).get(reverse("v1:webhooks")).json()["results"]
    assert value not in json.dumps(listed)
    stored = WebhookSubscription.objects.values_list("secret_header_value", flat=True).get()
    assert value not in stored
    assert secret_box(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY).decrypt(stored.encode()).decode() == value
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="test.with_header")
    client_as(admin_user).post(reverse("v1:webhook-deactivate", args=[created.json()["id"]]))
    assert any(headers.get("X-Api-Key") == value for headers, _ in server.received)
    for event in AuditEvent.objects.all():
        assert value not in bytes(event.body).decode()
        assert value not in f"{event.action}{event.actor}{event.object_ref}"


@pytest.mark.parametrize(
    "header, field",
    [
        ({"name": "Host", "value": "x"}, "secret_header.name"),
        ({"name": "X-Verity-Signature", "value": "x"}, "secret_header.name"),
        ({"name": "X-Api-Key", "value": "a\r\nInjected: 1"}, "secret_header.value"),
        ({"name": "X-Api-Key", "value": "x", "extra": 1}, "secret_header.extra"),
    ],
)
def test_a_bad_secret_header_is_refused_naming_the_field(client_as, admin_user, settings, header, field):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    response = _post(client_as(admin_user), "http://127.0.0.1:9/hook", secret_header=header)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_each_checkpoint_is_published_to_its_subscribers(
    client_as,
    admin_user,
    receiver,
    django_capture_on_commit_callbacks,
):
    server = receiver()
    _subscribe(client_as(admin_user), server.url, ["checkpoint.*"])
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = checkpoint_create()
    (received,) = [json.loads(body) for _, body in server.received]
    assert received["action"] == "checkpoint.created"
    assert (received["size"], received["head"]) == (checkpoint.size, checkpoint.head)
    assert received["signature"] == checkpoint.signature
    assert received["key_fingerprint"] == checkpoint.key_fingerprint
    assert received["body"] == bytes(checkpoint.body).decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert checkpoint_create().pk == checkpoint.pk  # nothing new signed: nothing published again
    assert len(server.received) == 1


@pytest.mark.parametrize("persona", ["officer", "auditor", "outsider", "requester"])
def test_every_webhook_endpoint_is_forbidden_to_other_roles(request, client_as, admin_user, persona, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    subscription = WebhookSubscription.objects.create(
        url="http://127.0.0.1:9/h", event_types=["*"], secret="s", created_by=admin_user
    )
    client = client_as(request.getfixturevalue(persona))
    header = {"name": "X-Api-Key", "value": "v"}
    assert _post(client, "http://127.0.0.1:9/h", secret_header=header).status_code == 403
    assert client.get(reverse("v1:webhooks")).status_code == 403
    assert client.post(reverse("v1:webhook-deactivate", args=[subscription.pk])).status_code == 403
    assert client.get(reverse("v1:webhook-deliveries", args=[subscription.pk])).status_code == 403
    subscription.refresh_from_db()
    assert subscription.active and WebhookSubscription.objects.count() == 1

"""Webhooks against a real HTTP server on 127.0.0.1."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from audits.services import audit_event_append
from registry.models import WebhookDelivery
from registry.webhooks import dispatch_due, matches, sign

pytestmark = pytest.mark.django_db


class Receiver:
    """A real server that fails the first `failures` requests, then answers 204 (or a 302 to `redirect`)."""

    def __init__(self, failures: int = 0, redirect: str | None = None):
        self.failures, self.received = failures, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                failing = len(receiver.received) <= receiver.failures
                self.send_response(503 if failing else 302 if redirect else 204)
                if redirect:
                    self.send_header("Location", redirect)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receivers listen on loopback
    made = []

    def make(failures=0, redirect=None):
        made.append(Receiver(failures, redirect))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 3


def _subscribe(client, url, types):
    response = client.post(reverse("v1:webhooks"), {"url": url, "event_types": types}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_patterns():
    assert matches(["approval.*"], "approval.decided")
    assert not matches(["approval.*"], "approvals.decided")
    assert matches(["*"], "model.registered")
    assert matches(["model.registered"], "model.registered")
    assert not matches(["model.registered"], "model.registered.extra")


def test_a_subscribed_event_is_delivered_signed(client_as, admin_user, receiver, django_capture_on_commit_callbacks):
    server = receiver()
    sub = _subscribe(client_as(admin_user), server.url, ["approval.*"])
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="user:1", action="approval.decided", data={"verdict": "approve"})
        audit_event_append(actor="user:1", action="model.registered")
    assert len(server.received) == 1
    headers, body = server.received[0]
    timestamp, mac = headers["X-Verity-Signature"].split(",")
    expected = hmac.new(sub["secret"].encode(), f"{timestamp[2:]}.".encode() + body, hashlib.sha256).hexdigest()
    assert mac == f"v1={expected}"
    assert headers["X-Verity-Signature"] == sign(sub["secret"], int(timestamp[2:]), body)
    payload = json.loads(body)
    assert payload["action"] == "approval.decided" and payload["data"]["verdict"] == "approve"
    assert len(payload["hash"]) == 64


def test_failures_are_retried_and_every_attempt_is_logged(
    client_as, admin_user, receiver, django_capture_on_commit_callbacks
):
    server = receiver(failures=2)
    sub = _subscribe(client_as(admin_user), server.url, ["*"])
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="drift.alert")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            dispatch_due()
    deliveries = client_as(admin_user).get(reverse("v1:webhook-deliveries", args=[sub["id"]])).json()["results"]
    drift = [d for d in deliveries if d["action"] == "drift.alert"][0]
    assert drift["status"] == "succeeded"
    assert [a["status_code"] for a in drift["attempt_log"]] == [503, 503, 204]


def test_a_dead_endpoint_fails_after_the_last_attempt(
    client_as, admin_user, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _subscribe(client_as(admin_user), "http://127.0.0.1:1/closed", ["drift.*"])
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="drift.alert")
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            dispatch_due()
    delivery = WebhookDelivery.objects.get(action="drift.alert")
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert all(a.status_code is None and a.error for a in delivery.attempt_log.all())


def test_a_delivery_is_sent_once_even_if_its_task_runs_twice(
    client_as, admin_user, receiver, django_capture_on_commit_callbacks
):
    from registry.webhooks import deliver

    server = receiver()
    _subscribe(client_as(admin_user), server.url, ["test.*"])
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="test.once")
    delivery = WebhookDelivery.objects.get(action="test.once")
    assert deliver(delivery.pk) is None
    assert len(server.received) == 1


@pytest.mark.parametrize("persona", ["officer", "auditor", "outsider"])
def test_webhooks_are_managed_by_superusers(request, client_as, persona):
    client = client_as(request.getfixturevalue(persona))
    assert client.get(reverse("v1:webhooks")).status_code == 403
    assert (
        client.post(reverse("v1:webhooks"), {"url": "http://x", "event_types": ["*"]}, format="json").status_code == 403
    )


def test_deactivated_subscriptions_receive_nothing(client_as, admin_user, receiver, django_capture_on_commit_callbacks):
    server = receiver()
    sub = _subscribe(client_as(admin_user), server.url, ["*"])
    client_as(admin_user).post(reverse("v1:webhook-deactivate", args=[sub["id"]]))
    with django_capture_on_commit_callbacks(execute=True):
        audit_event_append(actor="system", action="test.quiet")
    assert not WebhookDelivery.objects.filter(action="test.quiet").exists()
    assert server.received == []

import json

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from audits.services import audit_event_append, checkpoint_create
from tests.evidence.helpers import as_db_superuser

pytestmark = pytest.mark.django_db

READ_ENDPOINTS = ["audit-events", "audit-export", "audit-checkpoints", "audit-public-key"]


def _events(n=3):
    for index in range(n):
        audit_event_append(
            actor=f"user:{index % 2}",
            action=f"test.{'odd' if index % 2 else 'even'}",
            object_ref=f"registry.modelversion:{index}",
            data={"index": index},
        )


@pytest.mark.parametrize("name", [*READ_ENDPOINTS, "audit-verify", "audit-erasures"])
def test_anonymous_callers_are_refused(anon_client, name):
    method = "post" if name in {"audit-verify", "audit-erasures"} else "get"
    assert getattr(anon_client, method)(reverse(f"v1:{name}")).status_code == 401


@pytest.mark.parametrize("persona", ["requester", "outsider"])
@pytest.mark.parametrize("name", READ_ENDPOINTS)
def test_people_without_a_reading_role_are_refused(request, client_as, persona, name):
    response = client_as(request.getfixturevalue(persona)).get(reverse(f"v1:{name}"))
    assert response.status_code == 403


@pytest.mark.parametrize("name", READ_ENDPOINTS)
def test_ci_tokens_cannot_read_the_trail(ci_client, name):
    assert ci_client.get(reverse(f"v1:{name}")).status_code == 403


@pytest.mark.parametrize("persona", ["auditor", "officer"])
def test_auditors_and_officers_list_events_with_hash_and_position(request, client_as, persona):
    _events()
    response = client_as(request.getfixturevalue(persona)).get(reverse("v1:audit-events"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [e["seq"] for e in results] == [1, 2, 3]
    first = AuditEvent.objects.get(seq=1)
    assert results[0]["hash"] == first.hash
    assert results[0]["data"] == {"index": 0}
    assert set(results[0]) == {"v", "seq", "ts", "actor", "action", "object", "data", "prev", "hash"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "test.odd"}, [2]),
        ({"actor": "user:0"}, [1, 3]),
        ({"object": "registry.modelversion:2"}, [3]),
        ({"action_prefix": "test."}, [1, 2, 3]),
        ({"seq_from": 2, "seq_to": 2}, [2]),
    ],
)
def test_events_filter(client_as, auditor, query, expected):
    _events()
    response = client_as(auditor).get(reverse("v1:audit-events"), query)
    assert [e["seq"] for e in response.json()["results"]] == expected


def test_events_filter_by_time(client_as, auditor):
    _events()
    ts = AuditEvent.objects.get(seq=2).ts.isoformat()
    response = client_as(auditor).get(reverse("v1:audit-events"), {"since": ts})
    assert [e["seq"] for e in response.json()["results"]] == [2, 3]


def test_one_event_by_seq(client_as, auditor):
    _events()
    response = client_as(auditor).get(reverse("v1:audit-event", args=[2]))
    assert response.json()["action"] == "test.odd"
    assert client_as(auditor).get(reverse("v1:audit-event", args=[9])).status_code == 404


def test_the_listing_shows_the_hashed_bytes_not_the_filter_columns(client_as, auditor):
    _events()
    as_db_superuser("UPDATE audits_auditevent SET action = 'forged.action' WHERE seq = 1")
    response = client_as(auditor).get(reverse("v1:audit-event", args=[1]))
    assert response.json()["action"] == "test.even"


@pytest.mark.parametrize("persona", ["auditor", "officer"])
def test_verify_reports_ok_then_the_first_bad_seq(request, client_as, persona):
    _events(4)
    client = client_as(request.getfixturevalue(persona))
    body = client.post(reverse("v1:audit-verify")).json()
    assert body["ok"] is True and body["size"] == 4 and body["head"] == AuditEvent.objects.get(seq=4).hash
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq = 3")
    body = client.post(reverse("v1:audit-verify")).json()
    assert (body["ok"], body["bad_seq"], body["code"]) == (False, 3, "gap")


@pytest.mark.parametrize("persona", ["requester", "outsider"])
def test_verify_is_for_auditors_and_officers(request, client_as, persona):
    assert client_as(request.getfixturevalue(persona)).post(reverse("v1:audit-verify")).status_code == 403


def test_export_streams_json_lines(client_as, auditor):
    _events(3)
    response = client_as(auditor).get(reverse("v1:audit-export"), {"from": 2})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [2, 3]


@pytest.mark.parametrize(
    ("query", "field"), [({"from": 0}, "from_seq"), ({"from": "x"}, "from_seq"), ({"from": 3, "to": 2}, "to_seq")]
)
def test_export_refuses_a_bad_range(client_as, auditor, query, field):
    response = client_as(auditor).get(reverse("v1:audit-export"), query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_checkpoints_and_public_key(client_as, auditor):
    _events(2)
    checkpoint_create()
    listing = client_as(auditor).get(reverse("v1:audit-checkpoints")).json()
    assert listing["count"] == 1
    assert listing["results"][0]["size"] == 2
    pem = client_as(auditor).get(reverse("v1:audit-public-key"))
    assert pem["Content-Type"] == "application/x-pem-file"
    assert pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_erasure_is_for_superusers_only(client_as, auditor, officer, admin_user):
    target = {"subject": f"user:{auditor.pk}"}
    assert client_as(officer).post(reverse("v1:audit-erasures"), target, format="json").status_code == 403
    response = client_as(admin_user).post(reverse("v1:audit-erasures"), target, format="json")
    assert response.status_code == 201
    assert response.json()["action"] == "person.erased"
    bad = client_as(admin_user).post(reverse("v1:audit-erasures"), {"subject": "bob"}, format="json")
    assert bad.status_code == 400 and "subject" in bad.json()["error"]["fields"]


def test_the_admin_shows_events_read_only(client, officer):
    from tests.factories import PASSWORD

    _events(1)
    client.login(username="officer", password=PASSWORD)
    assert client.get("/admin/audits/auditevent/").status_code == 200
    assert client.get("/admin/audits/auditevent/1/change/").status_code == 200
    assert client.get("/admin/audits/auditevent/add/").status_code == 403
    assert client.post("/admin/audits/auditevent/1/delete/").status_code == 403


def test_admin_changes_to_users_and_roles_are_audited(client, admin_user, auditor):
    from tests.factories import PASSWORD

    client.login(username="root", password=PASSWORD)
    response = client.post(
        f"/admin/auth/user/{auditor.pk}/change/",
        {
            "username": "auditor",
            "is_active": "on",
            "is_staff": "on",
            "groups": [],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    event = json.loads(bytes(AuditEvent.objects.order_by("-seq").first().body))
    assert event["action"] == "user.changed"
    assert event["actor"] == f"user:{admin_user.pk}"
    assert event["data"]["groups_removed"] == ["auditor"]

"""Personal API tokens: a person issues their own, it expires, it can be revoked, it dies with the account,
an auditor's only reads, and no token decides."""

import hashlib
import json
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PersonalToken
from audits.ledger.verify import verify_lines
from audits.models import AuditEvent
from core import roles
from tests.registry_fixtures import decide, register_model, request_approval

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit-trail.md"
TOKENS = "v1:personal-tokens"


def issue(client, name="trail export", days=30, **extra):
    return client.post(reverse(TOKENS), {"name": name, "expires_in_days": days, **extra}, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def revoke_url(pk: int) -> str:
    return reverse("v1:personal-token-revoke", args=[pk])


def events(action: str) -> list[dict]:
    return [json.loads(bytes(e.body)) for e in AuditEvent.objects.filter(action=action).order_by("seq")]


@pytest.fixture
def auditor_token(client_as, auditor) -> str:
    response = issue(client_as(auditor))
    assert response.status_code == 201, response.json()
    return response.json()["token"]


def test_an_auditor_exports_the_trail_exactly_as_documented(client, auditor):
    from tests.factories import PASSWORD

    # Signed in as a person does (a session), the auditor issues a token for themselves.
    assert client.login(username="auditor", password=PASSWORD)
    created = client.post(
        reverse(TOKENS), {"name": "trail export", "expires_in_days": 30}, content_type="application/json"
    )
    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    body = created.json()
    assert body["token"].startswith("vtp_")
    assert (body["access"], body["state"], body["prefix"]) == ("read", "active", body["token"].split("_")[1])

    # The command of docs/audit-trail.md: its header and its path, against this service.
    command = re.search(r'curl -H "Authorization: (Bearer) \$TOKEN" (\S+) > trail\.jsonl', DOCS.read_text())
    assert command, "docs/audit-trail.md no longer shows the export command"
    scheme, url = command.groups()
    response = APIClient().get(urlsplit(url).path, HTTP_AUTHORIZATION=f"{scheme} {body['token']}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = b"".join(response.streaming_content).splitlines()
    assert verify_lines(lines).ok
    last = json.loads(lines[-1])
    assert (last["action"], last["actor"]) == ("personal_token.issued", f"user:{auditor.pk}")
    assert PersonalToken.objects.get(prefix=body["prefix"]).last_used_at is not None


def test_an_auditors_token_reads_and_verifies_but_never_writes(auditor_token):
    client = bearer(auditor_token)
    assert client.get(reverse("v1:audit-events")).status_code == 200
    assert client.get(reverse("v1:audit-checkpoints")).status_code == 200
    verified = client.post(reverse("v1:audit-verify"))
    assert verified.status_code == 200
    assert verified.json()["ok"] is True

    refused = register_model(client)
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "permission_denied",
        "message": "This token is read-only: it reads and verifies, it changes nothing.",
        "fields": {},
    }
    assert client.post(reverse("v1:audit-erasures"), {"subject": "user:1"}, format="json").status_code == 403


def test_an_auditor_cannot_ask_for_a_write_token(client_as, auditor):
    response = issue(client_as(auditor), access="write")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"access": ["An auditor's token is read-only."]}
    assert not PersonalToken.objects.exists()


def test_a_write_token_becomes_read_only_when_its_owner_becomes_an_auditor(client_as, requester):
    token = issue(client_as(requester), access="write").json()["token"]
    requester.groups.add(Group.objects.get(name=roles.AUDITOR))
    assert register_model(bearer(token)).status_code == 403


def test_a_write_token_does_what_its_owner_may(client_as, requester):
    token = issue(client_as(requester), access="write").json()["token"]
    assert register_model(bearer(token)).status_code == 201
    read_only = issue(client_as(requester), name="read").json()["token"]
    assert register_model(bearer(read_only), name="other-model").status_code == 403


def test_no_personal_token_decides(registered, ci_client, client_as, officer, no_evidence_policy):
    request_id = request_approval(ci_client).json()["id"]
    write = issue(client_as(officer), access="write").json()["token"]
    refused = decide(bearer(write), request_id)
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == (
        "A personal API token never decides: sign in to approve, reject, waive or attest."
    )
    read = issue(client_as(officer), name="read").json()["token"]
    assert decide(bearer(read), request_id).status_code == 403
    assert not AuditEvent.objects.filter(action="approval.decided").exists()
    # Signed in, the same officer decides.
    assert decide(client_as(officer), request_id).status_code == 201


@pytest.mark.parametrize("days", [None, 0, 91, "soon"])
def test_an_expiry_is_required_and_bounded(client_as, auditor, days):
    body = {"name": "x"} if days is None else {"name": "x", "expires_in_days": days}
    response = client_as(auditor).post(reverse(TOKENS), body, format="json")
    assert response.status_code == 400
    assert "expires_in_days" in response.json()["error"]["fields"]
    assert not PersonalToken.objects.exists()


def test_the_longest_lifetime_is_a_setting(client_as, auditor, settings):
    settings.PERSONAL_TOKEN_MAX_DAYS = 7
    assert issue(client_as(auditor), days=8).status_code == 400
    created = issue(client_as(auditor), days=7).json()
    row = PersonalToken.objects.get(pk=created["id"])
    assert row.expires_at - row.created_at == timedelta(days=7)


def test_unknown_fields_are_refused(client_as, auditor):
    response = issue(client_as(auditor), expires_in_dayz=3)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"expires_in_dayz": ["Unknown field; did you mean expires_in_days?"]}


def test_an_expired_token_is_refused(auditor_token):
    now = timezone.now()
    PersonalToken.objects.update(created_at=now - timedelta(days=31), expires_at=now - timedelta(seconds=1))
    response = bearer(auditor_token).get(reverse("v1:audit-export"))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Token expired."


def test_the_owner_revokes_a_token_and_it_is_refused(client_as, auditor, auditor_token):
    row = PersonalToken.objects.get()
    response = client_as(auditor).post(revoke_url(row.pk))
    assert response.status_code == 200
    assert response.json()["state"] == "revoked"
    refused = bearer(auditor_token).get(reverse("v1:audit-export"))
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Token revoked."
    # Revoking twice changes nothing and records nothing more.
    assert client_as(auditor).post(revoke_url(row.pk)).status_code == 200
    assert len(events("personal_token.revoked")) == 1


def test_a_read_only_token_may_revoke_itself(auditor_token):
    row = PersonalToken.objects.get()
    assert bearer(auditor_token).post(revoke_url(row.pk)).status_code == 200
    assert bearer(auditor_token).get(reverse("v1:me")).status_code == 401


def test_a_deactivated_owners_token_is_refused_for_good(auditor, auditor_token):
    auditor.is_active = False
    auditor.save()
    assert bearer(auditor_token).get(reverse("v1:audit-export")).status_code == 401
    # The database revoked it with the deactivation: reactivating the account does not bring it back.
    assert PersonalToken.objects.get().revoked_at is not None
    auditor.is_active = True
    auditor.save()
    assert bearer(auditor_token).get(reverse("v1:audit-export")).status_code == 401


def test_a_token_is_refused_while_its_owner_is_inactive_even_before_revocation(auditor, auditor_token):
    type(auditor).objects.filter(pk=auditor.pk).update(is_active=False)
    PersonalToken.objects.update(revoked_at=None)  # as if the trigger had not run (a restored backup, say)
    assert bearer(auditor_token).get(reverse("v1:me")).status_code == 401


def test_the_token_authenticates_as_its_owner(client_as, officer):
    token = issue(client_as(officer)).json()["token"]
    response = bearer(token).get(reverse("v1:me"))
    assert response.json() == {
        "username": "officer",
        "roles": ["compliance_officer"],
        "teams": [],
        "is_superuser": False,
        "service_account": None,
    }


def test_a_token_never_issues_another(client_as, officer):
    token = issue(client_as(officer), access="write").json()["token"]
    response = issue(bearer(token))
    assert response.status_code == 403
    assert "signed in" in response.json()["error"]["message"]
    assert PersonalToken.objects.count() == 1


def test_service_accounts_get_no_personal_tokens(ci_client):
    response = issue(ci_client)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Personal API tokens are for people; service accounts have their own tokens."
    )
    assert ci_client.get(reverse(TOKENS)).status_code == 403
    assert not PersonalToken.objects.exists()


def test_a_service_account_signed_in_gets_none_either(client_as, ci_account):
    client = client_as(ci_account.user)
    assert issue(client).status_code == 403
    assert client.get(reverse(TOKENS)).status_code == 403


def test_a_service_account_cannot_revoke_a_persons_token(ci_client, auditor_token):
    row = PersonalToken.objects.get()
    assert ci_client.post(revoke_url(row.pk)).status_code == 403
    assert PersonalToken.objects.get().revoked_at is None


def test_each_person_lists_and_revokes_only_their_own(client_as, auditor, officer, admin_user, auditor_token):
    mine = issue(client_as(officer), name="officer's").json()
    listed = client_as(officer).get(reverse(TOKENS)).json()
    assert [t["name"] for t in listed["results"]] == ["officer's"]
    assert "token" not in listed["results"][0]

    theirs = PersonalToken.objects.get(user=auditor)
    for other in (officer, admin_user):  # the API is about one's own tokens, a superuser's too
        assert client_as(other).post(revoke_url(theirs.pk)).status_code == 404
    assert bearer(auditor_token).get(reverse("v1:me")).status_code == 200
    assert client_as(officer).post(revoke_url(mine["id"])).status_code == 200


def test_the_endpoints_need_authentication(anon_client, auditor_token):
    assert anon_client.get(reverse(TOKENS)).status_code == 401
    assert issue(anon_client).status_code == 401
    assert anon_client.post(revoke_url(PersonalToken.objects.get().pk)).status_code == 401


def test_issue_and_revocation_are_events_without_token_material(client_as, auditor):
    created = issue(client_as(auditor)).json()
    client_as(auditor).post(revoke_url(created["id"]))
    row = PersonalToken.objects.get()
    [issued] = events("personal_token.issued")
    [revoked] = events("personal_token.revoked")
    facts = {"prefix": row.prefix, "access": "read", "expires_at": row.expires_at.isoformat()}
    assert issued["object"] == revoked["object"] == f"accounts.personaltoken:{row.pk}"
    assert issued["actor"] == revoked["actor"] == f"user:{auditor.pk}"
    assert {k: v for k, v in issued["data"].items() if k != "request_id"} == {"owner": f"user:{auditor.pk}", **facts}
    assert {k: v for k, v in revoked["data"].items() if k != "request_id"} == {
        "owner": f"user:{auditor.pk}",
        "reason": "owner",
        **facts,
    }
    secret = created["token"].split("_", 2)[2]
    for event in AuditEvent.objects.all():
        assert secret not in bytes(event.body).decode()
        assert row.digest not in bytes(event.body).decode()


def test_only_the_digest_is_stored(client_as, auditor):
    token = issue(client_as(auditor)).json()["token"]
    row = PersonalToken.objects.get()
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_personaltoken")
        stored = repr(cursor.fetchall())
    assert token not in stored
    assert token.split("_", 2)[2] not in stored


def test_a_wrong_secret_or_a_service_account_marker_is_refused(anon_client, auditor_token):
    prefix = PersonalToken.objects.get().prefix
    for forged in (f"vtp_{prefix}_guessed", auditor_token.replace("vtp_", "vt_", 1), f"vtp_{prefix}"):
        assert anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer {forged}").status_code == 401


def test_each_kind_of_token_authenticates_in_one_query(auditor_token, ci_account):
    """The gate is benchmarked: a service account's token costs one statement (token, account, user, roles),
    and a person's costs one of its own; neither looks in the other's table."""
    for token in (auditor_token, ci_account.token):
        client = bearer(token)
        assert client.get(reverse("v1:me")).status_code == 200  # records last_used_at: a second statement
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("v1:me")).status_code == 200
        tables = [q["sql"] for q in queries.captured_queries]
        assert len(tables) == 1, tables
        other = "governance_apitoken" if token.startswith("vtp_") else "accounts_personaltoken"
        assert other not in tables[0]

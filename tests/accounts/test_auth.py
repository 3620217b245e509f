import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.models import ApiToken, ServiceAccount
from accounts.services import service_account_revoke

PROTECTED = [
    ("get", "v1:me"),
    ("get", "v1:service-accounts"),
    ("post", "v1:service-accounts"),
    ("get", "schema"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "name"), PROTECTED)
def test_every_endpoint_requires_authentication(anon_client, method, name):
    response = getattr(anon_client, method)(reverse(name), HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.django_db
def test_the_api_docs_send_a_browser_to_sign_in(client):
    response = client.get(reverse("swagger-ui"))
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/api/docs/"


@pytest.mark.django_db
def test_revoke_requires_authentication(anon_client, ci_account):
    response = anon_client.post(reverse("v1:service-account-revoke", args=[ci_account.name]))
    assert response.status_code == 401


@pytest.mark.parametrize("persona", ["officer", "auditor", "requester", "outsider"])
def test_only_superusers_manage_service_accounts(request, client_as, ci_account, persona):
    client = client_as(request.getfixturevalue(persona))
    assert client.get(reverse("v1:service-accounts")).status_code == 403
    response = client.post(reverse("v1:service-accounts"), {"name": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.post(reverse("v1:service-account-revoke", args=[ci_account.name])).status_code == 403
    assert ServiceAccount.objects.get(pk=ci_account.pk).revoked_at is None


def test_a_ci_token_cannot_manage_service_accounts(ci_client):
    assert ci_client.get(reverse("v1:service-accounts")).status_code == 403


def test_a_ci_token_authenticates_and_carries_its_role(ci_client):
    response = ci_client.get(reverse("v1:me"))
    assert response.status_code == 200
    assert response.json() == {
        "username": "svc-ci-main",
        "roles": ["ci"],
        "teams": ["team:credit-risk"],
        "is_superuser": False,
        "service_account": "ci-main",
    }


def test_tokens_are_stored_hashed(ci_account):
    row = ApiToken.objects.get(service_account=ci_account)
    assert row.digest == hashlib.sha256(ci_account.token.encode()).hexdigest()
    assert ci_account.token not in {row.prefix, row.digest}
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM governance_apitoken")
        stored = repr(cursor.fetchall())
    assert ci_account.token not in stored
    assert ci_account.token.split("_", 2)[2] not in stored


def test_a_revoked_account_is_refused(ci_client, ci_account):
    service_account_revoke(account=ci_account)
    response = ci_client.get(reverse("v1:me"))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Token revoked."
    assert ApiToken.objects.get(service_account=ci_account).revoked_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer vt_abc_def", "Bearer nonsense", "Bearer a b"])
def test_unknown_or_malformed_tokens_are_refused(anon_client, header):
    response = anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_a_token_with_the_right_prefix_but_wrong_secret_is_refused(anon_client, ci_account):
    prefix = ApiToken.objects.get(service_account=ci_account).prefix
    response = anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer vt_{prefix}_guessed")
    assert response.status_code == 401


def test_a_superuser_creates_lists_and_revokes_service_accounts(client_as, admin_user, anon_client):
    client = client_as(admin_user)
    created = client.post(reverse("v1:service-accounts"), {"name": "ci-nightly", "role": "ci"}, format="json")
    assert created.status_code == 201
    token = created.json()["token"]
    assert anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    listed = client.get(reverse("v1:service-accounts")).json()["results"]
    assert [a["name"] for a in listed] == ["ci-nightly"]
    assert "token" not in listed[0]
    assert client.post(reverse("v1:service-account-revoke", args=["ci-nightly"])).status_code == 200
    assert anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_a_service_account_never_gets_a_deciding_role(client_as, admin_user):
    response = client_as(admin_user).post(
        reverse("v1:service-accounts"), {"name": "sneaky", "role": "compliance_officer"}, format="json"
    )
    assert response.status_code == 400
    assert "role" in response.json()["error"]["fields"]
    assert not ServiceAccount.objects.filter(name="sneaky").exists()


def test_duplicate_names_conflict(client_as, admin_user, ci_account):
    response = client_as(admin_user).post(reverse("v1:service-accounts"), {"name": "ci-main"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"name": ["Already exists."]}


def test_session_auth_works_for_browsers(client, officer):
    from tests.factories import PASSWORD

    assert client.login(username="officer", password=PASSWORD)
    response = client.get(reverse("v1:me"))
    assert response.status_code == 200
    assert response.json()["roles"] == ["compliance_officer"]


def test_create_service_account_command_prints_a_working_token(capsys, anon_client, db):
    call_command("create_service_account", "ci-cli", "--role", "ci")
    token = capsys.readouterr().out.strip()
    assert token.startswith("vt_")
    assert anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    call_command("revoke_service_account", "ci-cli")
    assert anon_client.get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401


def test_create_service_account_command_refuses_bad_names(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="name: use lowercase letters"):
        call_command("create_service_account", "Not A Slug")
    with pytest.raises(CommandError, match="No service account named 'ghost'"):
        call_command("revoke_service_account", "ghost")

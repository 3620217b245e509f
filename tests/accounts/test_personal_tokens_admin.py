"""My API tokens in the admin, and the rules the database keeps about personal tokens whatever the path."""

import json
import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import PersonalToken, ServiceAccount
from accounts.services import personal_token_issue
from audits.models import AuditEvent
from core.errors import DomainError

pytestmark = pytest.mark.django_db

ADD = "admin:accounts_personaltoken_add"
LIST = "admin:accounts_personaltoken_changelist"


def admin_issue(client, name="trail export", days=30, access="read"):
    return client.post(reverse(ADD), {"name": name, "expires_in_days": days, "access": access})


def shown_token(response) -> str:
    found = re.findall(r"vtp_[0-9a-f]+_[A-Za-z0-9_-]+", response.content.decode())
    assert found, "the page shows no token"
    return found[0]


def revoked_events() -> list[dict]:
    rows = AuditEvent.objects.filter(action="personal_token.revoked").order_by("seq")
    return [json.loads(bytes(e.body)) for e in rows]


def test_a_person_issues_a_token_in_the_admin_and_sees_it_once(client, auditor):
    client.force_login(auditor)
    assert client.get(reverse(ADD)).status_code == 200
    response = admin_issue(client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    token = shown_token(response)
    row = PersonalToken.objects.get()
    assert (row.user, row.name, row.access, row.prefix) == (auditor, "trail export", "read", token.split("_")[1])

    export = APIClient().get(reverse("v1:audit-export"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert export.status_code == 200
    listing = client.get(reverse(LIST))
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "My API tokens" in page
    assert row.prefix in page
    assert token not in page


def test_the_admin_form_keeps_the_services_rules(client, auditor, settings):
    client.force_login(auditor)
    too_long = admin_issue(client, days=settings.PERSONAL_TOKEN_MAX_DAYS + 1)
    assert too_long.status_code == 200
    assert "Between 1 and 90 days" in too_long.content.decode()
    write = admin_issue(client, access="write")
    assert "An auditor&#x27;s token is read-only." in write.content.decode()
    assert not PersonalToken.objects.exists()
    assert "vtp_" not in write.content.decode()


def test_each_person_sees_only_their_own_and_a_superuser_sees_all(client, auditor, officer, admin_user):
    officers, _ = personal_token_issue(user=officer, name="officer's", expires_in_days=5)
    auditors, _ = personal_token_issue(user=auditor, name="auditor's", expires_in_days=5)
    client.force_login(auditor)
    page = client.get(reverse(LIST)).content.decode()
    assert auditors.prefix in page
    assert officers.prefix not in page
    other = client.get(reverse("admin:accounts_personaltoken_change", args=[officers.pk]))
    assert other.status_code != 200

    client.force_login(admin_user)
    page = client.get(reverse(LIST)).content.decode()
    assert auditors.prefix in page
    assert officers.prefix in page
    assert "All personal API tokens" in page


def test_the_owner_revokes_in_the_admin(client, auditor):
    row, token = personal_token_issue(user=auditor, name="x", expires_in_days=5)
    client.force_login(auditor)
    response = client.post(reverse(LIST), {"action": "revoke", "_selected_action": [row.pk]})
    assert response.status_code == 302
    assert PersonalToken.objects.get().revoked_at is not None
    assert APIClient().get(reverse("v1:me"), HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert revoked_events()[0]["data"]["reason"] == "owner"


def test_a_person_cannot_revoke_anothers_token_in_the_admin(client, auditor, officer):
    row, _ = personal_token_issue(user=officer, name="x", expires_in_days=5)
    client.force_login(auditor)
    client.post(reverse(LIST), {"action": "revoke", "_selected_action": [row.pk]})
    assert PersonalToken.objects.get().revoked_at is None
    assert revoked_events() == []


def test_a_superuser_revokes_anyones_token(client, auditor, admin_user):
    row, _ = personal_token_issue(user=auditor, name="x", expires_in_days=5)
    client.force_login(admin_user)
    client.post(reverse(LIST), {"action": "revoke", "_selected_action": [row.pk]})
    assert PersonalToken.objects.get().revoked_at is not None
    [event] = revoked_events()
    assert (event["actor"], event["data"]["owner"], event["data"]["reason"]) == (
        f"user:{admin_user.pk}",
        f"user:{auditor.pk}",
        "superuser",
    )


def test_deactivating_a_person_in_the_admin_revokes_their_tokens_with_events(client, admin_user, auditor):
    personal_token_issue(user=auditor, name="a", expires_in_days=5)
    personal_token_issue(user=auditor, name="b", expires_in_days=5)
    joined = auditor.date_joined
    form = {
        "username": auditor.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_staff": "on",  # is_active left out: unchecked
        "groups": list(auditor.groups.values_list("pk", flat=True)),
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": joined.strftime("%H:%M:%S"),
    }
    client.force_login(admin_user)
    response = client.post(reverse("admin:auth_user_change", args=[auditor.pk]), form)
    assert response.status_code == 302
    assert not PersonalToken.objects.filter(revoked_at__isnull=True).exists()
    events = revoked_events()
    assert [e["data"]["reason"] for e in events] == ["owner_deactivated", "owner_deactivated"]
    assert {e["actor"] for e in events} == {f"user:{admin_user.pk}"}


def test_a_service_account_is_refused_a_personal_token_by_the_service(ci_account):
    with pytest.raises(DomainError, match="Service accounts cannot hold personal tokens"):
        personal_token_issue(user=ci_account.user, name="x", expires_in_days=5)


def test_the_database_refuses_a_personal_token_for_a_service_account(ci_account):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        PersonalToken.objects.create(
            user=ci_account.user, name="x", prefix="abc", digest="0" * 64, expires_at=now + timedelta(days=1)
        )


def test_the_database_refuses_to_make_a_token_holder_a_service_account(outsider):
    personal_token_issue(user=outsider, name="x", expires_in_days=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceAccount.objects.create(user=outsider, name="sneaky")


def test_the_database_refuses_a_token_without_a_future_expiry_or_a_digest(outsider):
    now = timezone.now()
    for bad in ({"expires_at": now, "digest": "0" * 64}, {"expires_at": now + timedelta(days=1)}):
        with pytest.raises(IntegrityError), transaction.atomic():
            PersonalToken.objects.create(user=outsider, name="x", prefix="p", created_at=now, **bad)

"""The trail in the admin: verify and export for readers of everything, and people's names beside their
pseudonyms, while the stored events keep the pseudonyms."""

import json
import re
import subprocess
import sys

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from audits.keys import public_pem
from audits.models import AuditEvent
from audits.selectors import actor_names
from audits.services import audit_event_append, checkpoint_create, person_erase
from core import roles
from tests.conftest import ROOT
from tests.evidence.helpers import as_db_superuser
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/audits/auditevent/"
VERIFY = "/admin/audits/auditevent/verify/"


def _signed_in(client, user):
    client.force_login(user)
    return client


def _append(actor: str, n: int = 1) -> None:
    for index in range(n):
        audit_event_append(actor=actor, action="test.event", object_ref=f"registry.modelversion:{index}")


@pytest.fixture
def clerk(db):
    """Staff who may view the events in the admin through a permission of their own, but holds no role."""
    user = UserFactory(username="clerk", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return user


@pytest.mark.parametrize("persona", ["auditor", "officer", "admin_user"])
def test_readers_of_everything_verify_the_trail_and_nothing_is_recorded(request, client, persona):
    _append("system", 4)
    checkpoint_create()
    reader = _signed_in(client, request.getfixturevalue(persona))
    assert 'action="/admin/audits/auditevent/verify/"' in reader.get(CHANGELIST).content.decode()
    response = reader.post(VERIFY)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The trail verifies: 4 events, 1 signed checkpoint verified." in page
    assert AuditEvent.objects.get(seq=4).hash in page
    assert AuditEvent.objects.count() == 4


def test_verify_shows_the_first_bad_seq_and_why(client, auditor):
    _append("system", 4)
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq = 3")
    page = _signed_in(client, auditor).post(VERIFY).content.decode()
    assert "The trail FAILS verification at seq 3 (gap)" in page
    assert "The trail verifies" not in page


def test_verify_needs_a_post_with_its_csrf_token(auditor):
    from django.test import Client

    browser = _signed_in(Client(enforce_csrf_checks=True), auditor)
    assert browser.get(VERIFY).status_code == 405
    assert browser.post(VERIFY).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', browser.get(CHANGELIST).content.decode())[1]
    assert browser.post(VERIFY, {"csrfmiddlewaretoken": token}).status_code == 200


def test_staff_without_a_reading_role_may_not_verify_and_see_no_buttons(client, clerk):
    _append("system")
    browser = _signed_in(client, clerk)
    page = browser.get(CHANGELIST).content.decode()
    assert "Verify the trail" not in page and reverse("v1:audit-export") not in page
    assert browser.post(VERIFY).status_code == 403


def test_people_without_a_staff_account_are_sent_to_sign_in(client, requester):
    response = _signed_in(client, requester).post(VERIFY)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_export_button_downloads_lines_the_standalone_verifier_accepts(client, auditor, tmp_path):
    _append("system", 5)
    checkpoint = checkpoint_create()
    reader = _signed_in(client, auditor)
    href = re.search(
        r'<a href="([^"]+)" download="audit-trail.jsonl">Export</a>', reader.get(CHANGELIST).content.decode()
    )
    response = reader.get(href[1])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == 'attachment; filename="audit-trail.jsonl"'
    trail = tmp_path / "trail.jsonl"
    trail.write_bytes(b"".join(response.streaming_content))
    checkpoints = tmp_path / "checkpoints.json"
    checkpoints.write_text(json.dumps([{**json.loads(bytes(checkpoint.body)), "signature": checkpoint.signature}]))
    key = tmp_path / "key.pem"
    key.write_bytes(public_pem())
    command = [sys.executable, "-m", "audits.ledger.verify", str(trail), "--checkpoints", str(checkpoints)]
    result = subprocess.run([*command, "--public-key", str(key), "--json"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["ok"], verdict["size"], verdict["checkpoints_checked"]) == (True, 5, 1)


def test_the_export_stays_refused_to_staff_without_a_reading_role(client, clerk):
    assert _signed_in(client, clerk).get(reverse("v1:audit-export")).status_code == 403


def test_an_auditor_sees_names_beside_pseudonyms_and_the_stored_events_keep_them(client, auditor):
    jane = UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    plain = UserFactory(username="plain")
    for actor in (f"user:{jane.pk}", f"user:{plain.pk}", "service:ci-main"):
        _append(actor)
    stored = {event.seq: (bytes(event.body), event.hash) for event in AuditEvent.objects.all()}
    reader = _signed_in(client, auditor)
    listing = reader.get(CHANGELIST).content.decode()
    assert f"Jane Doe (user:{jane.pk})" in listing
    assert f"plain (user:{plain.pk})" in listing
    assert "service:ci-main" in listing
    detail = reader.get(f"{CHANGELIST}1/change/").content.decode()
    assert f"Jane Doe (user:{jane.pk})" in detail
    assert f"&quot;actor&quot;: &quot;user:{jane.pk}&quot;" in detail  # the hashed record, as stored
    assert {event.seq: (bytes(event.body), event.hash) for event in AuditEvent.objects.all()} == stored
    assert b"Jane" not in b"".join(body for body, _ in stored.values())


def test_staff_without_a_reading_role_see_only_pseudonyms(client, clerk):
    jane = UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    _append(f"user:{jane.pk}")
    browser = _signed_in(client, clerk)
    for address in (CHANGELIST, f"{CHANGELIST}1/change/"):
        page = browser.get(address).content.decode()
        assert f"user:{jane.pk}" in page and "Jane Doe" not in page


def test_an_erased_person_reads_erased_beside_the_pseudonym(client, auditor, admin_user):
    jane = UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    _append(f"user:{jane.pk}")
    person_erase(subject=f"user:{jane.pk}", actor=f"user:{admin_user.pk}")
    listing = _signed_in(client, auditor).get(CHANGELIST).content.decode()
    assert "Jane" not in listing and f"erased-{jane.pk}" not in listing
    assert f'<td class="field-actor_named">erased person (user:{jane.pk})</td>' in listing


def test_actor_names_resolves_a_page_in_two_queries(auditor, django_assert_num_queries):
    jane = UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    gone = UserFactory(username="gone")
    gone_pk = gone.pk
    gone.delete()
    roles.roles_of(auditor)  # the reader's roles are read once per request, before any name
    actors = [f"user:{jane.pk}", f"user:{gone_pk}", "service:ci-main", "system", "user:x"]
    with django_assert_num_queries(2):  # the personal records, the accounts
        names = actor_names(actors * 3, auditor)
    assert names == {
        f"user:{jane.pk}": f"Jane Doe (user:{jane.pk})",
        f"user:{gone_pk}": f"erased person (user:{gone_pk})",
        "service:ci-main": "service:ci-main",
        "system": "system",
        "user:x": "user:x",
    }
    with django_assert_num_queries(0):
        assert actor_names(["system"], auditor) == {"system": "system"}

"""An attestation's statement is the officer's personal data: the trail carries only a salted digest of it,
and once the officer is erased no reader serves it again (API, checklists, admin, the attestations of newly
built cards), while the answer, the item, the time and the digest stay and the trail still verifies."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent, PersonalRecord
from audits.selectors import audit_trail_verify
from core.models import IdempotencyRecord
from reports.card_trail import attestations_section
from reports.selectors import ERASED
from tests.factories import PASSWORD
from tests.reports.test_attestations import _answer, _event, _url, version  # noqa: F401

pytestmark = pytest.mark.django_db
STATEMENT = "Reviewed by Jane Roe (DPO) on 2026-11-02; no special-category inputs."


def _plain(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _erase(client_as, admin_user, person) -> dict:
    response = client_as(admin_user).post(reverse("v1:audit-erasures"), {"subject": f"user:{person.pk}"}, format="json")
    assert response.status_code == 201, response.json()
    return json.loads(bytes(AuditEvent.objects.get(seq=response.json()["seq"]).body))


def test_the_event_carries_a_salted_digest_not_the_plain_sha256_of_a_short_statement(version, officer):  # noqa: F811
    attestation = _answer(version, officer, statement="Yes")
    body = bytes(AuditEvent.objects.filter(action="attestation.answered").get().body)
    assert _plain("Yes").encode() not in body
    assert b"Yes" not in body
    record = PersonalRecord.objects.get(digest=attestation.statement_digest)
    assert (record.subject, record.kind, record.text) == (f"user:{officer.pk}", "attestation_statement", "Yes")
    assert _event("attestation.answered")["data"]["statement_digest"] == _plain(record.salt + "Yes")
    assert "statement_sha256" not in _event("attestation.answered")["data"]


def test_the_same_statement_gets_a_different_digest_each_time_it_is_given(version, officer, officer2):  # noqa: F811
    first = _answer(version, officer, item_id="GDPR-35-1", statement="Yes")
    second = _answer(version, officer2, item_id="GDPR-22-3", statement="Yes")
    again = _answer(version, officer, item_id="GDPR-35-1", statement="Yes")
    digests = {first.statement_digest, second.statement_digest, again.statement_digest}
    assert len(digests) == 3 and _plain("Yes") not in digests


def test_the_statement_is_served_while_its_author_is_not_erased(client, client_as, version, officer, auditor):  # noqa: F811
    attestation = _answer(version, officer, statement=STATEMENT)
    (listed,) = client_as(auditor).get(_url("attestations")).json()["results"]
    assert (listed["statement"], listed["statement_erased"]) == (STATEMENT, False)
    assert listed["statement_sha256"] == attestation.statement_digest
    (carded,) = attestations_section(version, ["gdpr"], None)
    assert (carded["statement"], carded["statement_erased"], carded["statement_sha256"]) == (
        STATEMENT,
        False,
        attestation.statement_digest,
    )
    client.login(username="auditor", password=PASSWORD)
    assert STATEMENT in client.get(f"/admin/reports/attestation/{attestation.pk}/change/").content.decode()


def test_erasing_the_officer_erases_their_statements_everywhere_they_are_served(
    client,
    client_as,
    version,  # noqa: F811
    officer,
    officer2,
    auditor,
    admin_user,
):
    body = {"framework": "gdpr", "item_id": "GDPR-35-1", "answer": "met", "statement": STATEMENT}
    posted = client_as(officer).post(_url("attestations"), body, format="json", headers={"Idempotency-Key": "k1"})
    assert posted.status_code == 201 and posted.json()["statement"] == STATEMENT
    kept = _answer(version, officer2, item_id="GDPR-22-3", statement="Appeals go to the credit committee.")
    before = client_as(auditor).get(_url("attestations")).json()["results"]

    erasure = _erase(client_as, admin_user, officer)

    assert posted.json()["statement_sha256"] in erasure["data"]["digests"]
    assert not IdempotencyRecord.objects.filter(user=officer).exists()  # the stored 201 quoted the statement
    after = client_as(auditor).get(_url("attestations")).json()["results"]
    assert STATEMENT not in json.dumps(after)
    erased = next(a for a in after if a["id"] == posted.json()["id"])
    assert (erased["statement"], erased["statement_erased"]) == (ERASED, True)
    unchanged = ("item_id", "answer", "answered_at", "answered_by", "statement_sha256", "current")
    assert [{k: a[k] for k in unchanged} for a in after] == [{k: a[k] for k in unchanged} for a in before]
    other = next(a for a in after if a["id"] == kept.pk)
    assert (other["statement"], other["statement_erased"]) == ("Appeals go to the credit committee.", False)

    checklists = client_as(auditor).get(_url()).content.decode()
    assert STATEMENT not in checklists
    assert "attested met by user:" in checklists  # the answer still decides its item

    section = attestations_section(version, ["gdpr"], timezone.now())  # the card's section, built now
    assert STATEMENT not in json.dumps(section)
    carded = next(a for a in section if a["item_id"] == "GDPR-35-1")
    assert (carded["statement"], carded["statement_erased"]) == (ERASED, True)
    assert carded["statement_sha256"] == posted.json()["statement_sha256"]

    client.login(username="auditor", password=PASSWORD)
    page = client.get(f"/admin/reports/attestation/{posted.json()['id']}/change/").content.decode()
    assert STATEMENT not in page and ERASED in page

    result = audit_trail_verify()
    assert result.ok and result.size == AuditEvent.objects.count()


def test_the_erase_person_command_erases_statements_too(client_as, version, officer, auditor):  # noqa: F811
    _answer(version, officer, statement=STATEMENT)
    call_command("erase_person", f"user:{officer.pk}")
    (listed,) = client_as(auditor).get(_url("attestations")).json()["results"]
    assert (listed["statement"], listed["statement_erased"]) == (ERASED, True)
    assert not PersonalRecord.objects.filter(text=STATEMENT).exists()
    assert audit_trail_verify().ok

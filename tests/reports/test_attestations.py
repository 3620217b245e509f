"""Attestations: officers answer the human items (API and admin), answers supersede and expire, each one
an audit event; the rules refuse automatic items, unknown items, frameworks that do not apply, and the
version's own submitter."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent
from core.blobs import blob_path
from core.errors import DomainError
from registry.models import ModelVersion
from reports import services
from reports.checklists import checklist_evaluate
from reports.models import Attestation
from tests.factories import PASSWORD
from tests.registry_fixtures import SCHEMA, register_dataset, register_model

pytestmark = pytest.mark.django_db
STATEMENT = "DPIA-2026-14 assessed version 1.0.0 and was signed off on 2026-11-02."


@pytest.fixture
def version(ci_client, applicants) -> ModelVersion:
    """A vendor model known by its recorded predictions: registered without an artifact, so quickly."""
    assert register_model(ci_client).status_code == 201
    recorded = applicants.assign(decision=(applicants.debt_ratio > 0.5).astype(int))
    dataset = register_dataset(ci_client, recorded, schema={**SCHEMA, "prediction": "decision"}).json()
    body = {"metadata": json.dumps({"version": "1.0.0", "sample_dataset": dataset["id"]})}
    assert ci_client.post(reverse("v1:model-versions", args=["credit-scoring"]), body).status_code == 201
    return ModelVersion.objects.select_related("model").get()


def _answer(version, user, item_id="GDPR-35-1", **extra) -> Attestation:
    fields = {"framework": "gdpr", "answer": "met", "statement": STATEMENT, **extra}
    return services.attestation_answer(version=version, item_id=item_id, user=user, **fields)


def _item(version, item_id, **kwargs):
    return next(r for r in checklist_evaluate(version, "gdpr", **kwargs) if r.item_id == item_id)


def _refusal(version, user, **extra) -> DomainError:
    with pytest.raises(DomainError) as caught:
        _answer(version, user, **extra)
    return caught.value


def _event(action: str) -> dict:
    return json.loads(bytes(AuditEvent.objects.filter(action=action).order_by("-seq").first().body))


def test_an_answer_decides_its_item_and_is_an_audit_event(version, officer):
    assert _item(version, "GDPR-35-1").status == "open"
    attestation = _answer(version, officer)
    item = _item(version, "GDPR-35-1")
    assert item.status == "passed"
    assert item.reason.startswith(f"attested met by user:{officer.pk} on ")
    assert item.evidence == ({"kind": "attestation", "id": attestation.pk, "sha256": attestation.statement_digest},)
    event = _event("attestation.answered")
    assert event["actor"] == f"user:{officer.pk}"
    assert event["object"] == f"reports.attestation:{attestation.pk}"
    assert event["data"] == {
        "model": "credit-scoring",
        "version": "1.0.0",
        "framework": "gdpr",
        "item_id": "GDPR-35-1",
        "checklist_version": "2026.1",
        "answer": "met",
        "statement_digest": attestation.statement_digest,
        "attachments": [],
        "expires_at": None,
        "supersedes": None,
    }


def test_a_new_answer_supersedes_the_current_one_and_keeps_it(version, officer, officer2):
    first = _answer(version, officer)
    second = _answer(version, officer2, answer="not_met", statement="The DPIA predates the new inputs.")
    first.refresh_from_db()
    assert first.superseded_at == second.answered_at
    assert _item(version, "GDPR-35-1").status == "failed"
    assert _event("attestation.answered")["data"]["supersedes"] == first.pk
    assert Attestation.objects.filter(item_id="GDPR-35-1").count() == 2


def test_an_answer_expires_and_leaves_the_item_open(version, officer):
    expires = timezone.now() + timedelta(days=30)
    _answer(version, officer, answer="not_applicable", expires_at=expires)
    assert _item(version, "GDPR-35-1").status == "not_applicable"
    lapsed = _item(version, "GDPR-35-1", now=expires + timedelta(seconds=1))
    assert (lapsed.status, lapsed.reason) == ("open", f"attestation expired on {expires.date().isoformat()}")


def test_a_withdrawn_answer_reopens_the_item_and_the_trail_still_accounts_for_it(version, officer):
    attestation = _answer(version, officer)
    services.attestation_withdraw(attestation=attestation, user=officer)
    assert _item(version, "GDPR-35-1").status == "open"
    assert _event("attestation.withdrawn")["object"] == f"reports.attestation:{attestation.pk}"
    assert _item(version, "GDPR-5-2").status == "passed"


def test_the_submitter_of_a_version_may_not_attest_it(version, officer):
    ModelVersion.objects.filter(pk=version.pk).update(submitted_by=officer)
    version.refresh_from_db()
    error = _refusal(version, officer)
    assert (error.code, error.status_code) == ("separation_of_duties", 403)


@pytest.mark.parametrize(
    ("extra", "field", "text"),
    [
        ({"item_id": "GDPR-9-1"}, "item_id", "decided automatically"),
        ({"item_id": "GDPR-99"}, "item_id", "has no item 'GDPR-99'"),
        ({"framework": "hipaa", "item_id": "HIPAA-514-B"}, "framework", "does not apply to credit-scoring"),
        ({"framework": "sox"}, "framework", "unknown framework"),
        ({"statement": "   "}, "statement", "a written statement is required"),
        ({"answer": "maybe"}, "answer", "one of met, not_met, not_applicable"),
        ({"expires_at": "past"}, "expires_at", "must be in the future"),
    ],
)
def test_answers_that_break_a_rule_are_refused_naming_the_field(version, officer, extra, field, text):
    if extra.get("expires_at") == "past":
        extra = {"expires_at": timezone.now() - timedelta(minutes=1)}
    error = _refusal(version, officer, **extra)
    assert (error.status_code, list(error.fields)) == (400, [field])
    assert text in error.message
    assert not Attestation.objects.exists()


def test_only_compliance_officers_answer(version, auditor, admin_user):
    assert _refusal(version, auditor).status_code == 403
    assert _refusal(version, admin_user).code == "permission_denied"


def test_a_framework_implied_by_the_data_classification_can_be_attested(version, officer):
    version.model.data_classification = ["phi"]
    version.model.save(update_fields=["data_classification"])
    _answer(version, officer, framework="hipaa", item_id="HIPAA-514-B")
    assert Attestation.objects.get().framework == "hipaa"


# --- over the API ---------------------------------------------------------------------------------------


def _url(name="checklists", *extra):
    return reverse(f"v1:{name}", args=["credit-scoring", "1.0.0", *extra])


def test_officers_answer_with_attachments_stored_by_digest(version, client_as, officer):
    def body():
        dpia = SimpleUploadedFile("dpia.pdf", b"%PDF-1.7 the DPIA", content_type="application/pdf")
        return {
            "framework": "gdpr",
            "item_id": "GDPR-35-1",
            "answer": "met",
            "statement": STATEMENT,
            "attachments": [dpia],
        }

    key = {"Idempotency-Key": "k1"}
    response = client_as(officer).post(_url("attestations"), body(), format="multipart", headers=key)
    assert response.status_code == 201, response.json()
    stored = response.json()["attachments"]
    assert [(a["name"], a["size"], a["content_type"]) for a in stored] == [("dpia.pdf", 17, "application/pdf")]
    assert blob_path(settings.EVIDENCE_ROOT, stored[0]["sha256"]).read_bytes() == b"%PDF-1.7 the DPIA"
    assert _event("attestation.answered")["data"]["attachments"] == [stored[0]["sha256"]]
    again = client_as(officer).post(_url("attestations"), body(), format="multipart", headers=key)
    assert again["Idempotent-Replayed"] == "true"
    assert Attestation.objects.count() == 1


def test_an_oversized_attachment_is_refused(version, client_as, officer, monkeypatch):
    monkeypatch.setattr(services, "ATTACHMENT_MAX_BYTES", 8)
    body = {
        "framework": "gdpr",
        "item_id": "GDPR-35-1",
        "answer": "met",
        "statement": STATEMENT,
        "attachments": [SimpleUploadedFile("big.bin", b"0123456789")],
    }
    response = client_as(officer).post(_url("attestations"), body, format="multipart")
    assert response.status_code == 413
    assert "attachments" in response.json()["error"]["fields"]


def test_an_automatic_item_is_refused_over_the_api_naming_the_field(version, client_as, officer):
    body = {"framework": "gdpr", "item_id": "GDPR-5-2", "answer": "met", "statement": STATEMENT}
    response = client_as(officer).post(_url("attestations"), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["item_id"]


@pytest.mark.parametrize("persona", ["auditor", "requester", "outsider"])
def test_other_roles_cannot_answer(request, version, client_as, persona):
    body = {"framework": "gdpr", "item_id": "GDPR-35-1", "answer": "met", "statement": STATEMENT}
    response = client_as(request.getfixturevalue(persona)).post(_url("attestations"), body, format="json")
    assert response.status_code == 403
    assert not Attestation.objects.exists()


def test_ci_cannot_answer(version, ci_client):
    body = {"framework": "gdpr", "item_id": "GDPR-35-1", "answer": "met", "statement": STATEMENT}
    assert ci_client.post(_url("attestations"), body, format="json").status_code == 403


def test_the_history_lists_superseded_answers_newest_first(version, client_as, auditor, officer, officer2):
    first = _answer(version, officer)
    second = _answer(version, officer2)
    body = client_as(auditor).get(_url("attestations"), {"framework": "gdpr"}).json()
    assert [(a["id"], a["current"]) for a in body["results"]] == [(second.pk, True), (first.pk, False)]
    assert body["results"][0]["answered_by"] == f"user:{officer2.pk}"


@pytest.mark.parametrize("persona", ["auditor", "officer", "requester"])
def test_checklists_are_read_by_every_role(request, version, client_as, persona):
    client = client_as(request.getfixturevalue(persona))
    body = client.get(_url()).json()
    assert [c["framework"] for c in body["checklists"]] == ["gdpr"]
    gdpr = body["checklists"][0]
    assert gdpr["checklist_version"] == "2026.1"
    assert sum(gdpr["summary"].values()) == len(gdpr["items"]) == 14
    one = client.get(_url("checklist", "gdpr")).json()
    assert one["checklist"]["items"] == gdpr["items"]


def test_checklists_over_the_api_for_ci_and_not_for_outsiders(version, ci_client, client_as, outsider, anon_client):
    assert ci_client.get(_url()).status_code == 200
    assert client_as(outsider).get(_url()).status_code == 403
    assert client_as(outsider).get(_url("attestations")).status_code == 403
    assert client_as(outsider).get(reverse("v1:frameworks")).status_code == 403
    assert anon_client.get(_url()).status_code == 401


def test_a_framework_that_does_not_apply_or_does_not_exist_is_not_found(version, ci_client):
    response = ci_client.get(_url("checklist", "hipaa"))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_applicable")
    assert ci_client.get(_url("checklist", "sox")).status_code == 404


def test_the_framework_definitions_are_served(ci_client):
    frameworks = ci_client.get(reverse("v1:frameworks")).json()
    assert [f["id"] for f in frameworks] == ["gdpr", "ccpa", "hipaa", "eu_ai_act"]
    hipaa = ci_client.get(reverse("v1:framework", args=["hipaa"])).json()
    item = next(i for i in hipaa["items"] if i["id"] == "HIPAA-312-B")
    assert (item["source"], item["decided_by"], item["rule"]) == ("45 CFR 164.312(b)", "automatic", "trail_verified")
    assert ci_client.get(reverse("v1:framework", args=["sox"])).status_code == 404


# --- in the admin ---------------------------------------------------------------------------------------


def _admin_add(client, version, **extra):
    body = {
        "version": version.pk,
        "framework": "gdpr",
        "item_id": "GDPR-22-3",
        "answer": "met",
        "statement": STATEMENT,
        "expires_at_0": "",
        "expires_at_1": "",
        **extra,
    }
    return client.post("/admin/reports/attestation/add/", body)


def test_an_officer_answers_in_the_admin_through_the_service(client, version, officer):
    client.login(username="officer", password=PASSWORD)
    attachment = SimpleUploadedFile("process.txt", b"Reviews within 5 working days.")
    response = _admin_add(client, version, attachment=attachment)
    assert response.status_code == 302, response.content.decode()[:2000]
    attestation = Attestation.objects.get()
    assert attestation.answered_by == officer
    assert attestation.attachments[0]["name"] == "process.txt"
    assert _event("attestation.answered")["data"]["item_id"] == "GDPR-22-3"
    assert client.get(f"/admin/reports/attestation/{attestation.pk}/change/").status_code == 200


def test_the_admin_shows_a_refused_answer_on_its_field(client, version, officer):
    client.login(username="officer", password=PASSWORD)
    response = _admin_add(client, version, framework="ccpa")
    assert response.status_code == 200
    assert "ccpa does not apply to" in response.context["adminform"].form.errors["framework"][0]
    assert not Attestation.objects.exists()


def test_the_admin_offers_only_items_a_person_decides_as_a_list(client, version, officer):
    client.login(username="officer", password=PASSWORD)
    html = client.get("/admin/reports/attestation/add/").content.decode()
    assert '<select name="item_id"' in html and '<optgroup label="GDPR">' in html
    assert '<option value="GDPR-22-3">GDPR-22-3: People subject to a decision' in html
    assert 'value="GDPR-5-2"' not in html  # decided automatically from the evidence
    refused = _admin_add(client, version, item_id="GDPR-5-2")
    assert "Select a valid choice" in refused.context["adminform"].form.errors["item_id"][0]
    assert not Attestation.objects.exists()


def test_auditors_read_the_history_in_the_admin_but_cannot_answer(client, version, auditor, officer):
    _answer(version, officer)
    client.login(username="auditor", password=PASSWORD)
    assert client.get("/admin/reports/attestation/").status_code == 200
    assert _admin_add(client, version).status_code == 403
    assert Attestation.objects.count() == 1

"""The model-card requirement is not circular: a card rendered while the request is pending counts, says so,
and is the card the decision records."""

import pytest
from django.conf import settings

from core.blobs import blob_path
from registry.models import ApprovalPolicy, ModelVersion
from reports.models import Report
from tests.registry.test_waivers_and_policy_evidence import _card, _card_item
from tests.registry_fixtures import decide, request_approval
from tests.reports.card_fixtures import embedded_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_policy(db):
    ApprovalPolicy.objects.update(
        requires_explanation=False,
        requires_bias_audit=False,
        requires_model_cards=True,
        requires_drift_check_for_reapproval=False,
    )


def test_a_card_rendered_for_the_pending_request_is_the_one_the_decision_records(
    registered, ci_client, client_as, officer, officer2, card_policy, django_capture_on_commit_callbacks
):
    from reports.jobs import report_request

    request_id = request_approval(ci_client).json()["id"]
    blocked = decide(client_as(officer), request_id)
    assert (
        "model_card:GDPR: no GDPR model card has been rendered for this version"
        in blocked.json()["error"]["fields"]["reasons"]
    )
    version = ModelVersion.objects.select_related("model", "artifact").get(version="1.0.0")
    with django_capture_on_commit_callbacks(execute=True):
        report = report_request(version=version, scope="gdpr", user=officer)
    report.refresh_from_db()
    assert report.status == "succeeded", report.error
    card = embedded_card(blob_path(settings.REPORT_ROOT, report.pdf_sha256).read_bytes())
    assert card["document_control"]["status"] == "pending (production)"  # rendered before any decision

    first = decide(client_as(officer), request_id)
    assert first.status_code == 201, first.json()
    second = decide(client_as(officer2), request_id)
    assert second.json()["request"]["status"] == "approved"
    for decision in (first.json(), second.json()):
        assert decision["evidence_digests"]["model_card:GDPR"] == {
            "report": report.pk,
            "pdf_sha256": report.pdf_sha256,
            "inputs_sha256": report.inputs_sha256,
        }


def test_a_card_being_rendered_again_does_not_hide_the_one_already_rendered(registered):
    version = ModelVersion.objects.select_related("model", "artifact").get(version="1.0.0")
    done = _card(version.pk, sha256=registered["artifact_sha256"])
    _card(version.pk, status="queued")
    item = _card_item(version)
    assert item.status == "done" and item.digests["report"] == done.pk
    assert Report.objects.count() == 2


def test_a_card_or_job_waiting_in_the_queue_reads_queued_not_running(registered, ci_client):
    from django.urls import reverse

    from approvals.requirements import evidence_status
    from registry.models import Dataset

    version = ModelVersion.objects.select_related("model", "artifact").get(version="1.0.0")
    queued = _card(version.pk, status="queued")
    assert (_card_item(version).status, _card_item(version).reason) == (
        "queued",
        f"the model card (report {queued.pk}) is queued",
    )
    Report.objects.filter(pk=queued.pk).update(status="running")
    assert _card_item(version).status == "running"
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    # Not run: the test's transaction never commits, so the job stays in the queue.
    job = ci_client.post(url, {"kind": "bias_audit", "dataset": Dataset.objects.get().pk}, format="json").json()
    policy = ApprovalPolicy.objects.get(risk_tier=version.model.risk_tier)
    (item,) = [i for i in evidence_status(version, policy) if i.requirement == "bias_audit"]
    assert (item.status, item.reason) == ("queued", f"the bias audit (job {job['id']}) is queued")

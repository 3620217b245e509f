"""A card rendered before a decision says so in the admin once the decision is taken, and whoever may
request cards renders a fresh one there."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.services import approval_decide, approval_request_submit
from registry.models import ModelVersion
from reports.card import document_control
from reports.models import Report
from reports.selectors import report_stale_reasons

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_card(registered, requester):
    """A succeeded report whose card recorded the version's request as pending."""
    version = ModelVersion.objects.get(model__name="credit-scoring", version="1.0.0")
    request = approval_request_submit(version=version, target_stage="staging", user=requester)
    card = {"document_control": document_control(version, None)}
    report = Report.objects.create(
        version=version,
        scope="gdpr",
        status=Report.Status.SUCCEEDED,
        requested_by=f"user:{requester.pk}",
        inputs=card,
        pdf_sha256="0" * 64,
        pdf_size=1,
        pages=6,
        finished_at=timezone.now(),
    )
    return report, request


def test_a_card_is_current_until_its_request_is_decided(pending_card, officer):
    report, request = pending_card
    assert report.inputs["document_control"]["status"] == "pending (staging)"
    assert report_stale_reasons(report) == []
    approval_decide(request=request, user=officer, verdict="reject", comment="Not this quarter.")
    assert report_stale_reasons(report) == [
        "the card says the approval is pending (staging); it is now rejected (staging)"
    ]


def test_the_admin_flags_a_stale_card_and_renders_a_fresh_one(pending_card, officer, client):
    report, request = pending_card
    approval_decide(request=request, user=officer, verdict="reject", comment="Not this quarter.")
    client.force_login(officer)
    listing = client.get(reverse("admin:reports_report_changelist")).content.decode()
    assert re.search(r'<td class="field-freshness"><strong class="stale-card">stale</strong>', listing)
    page = client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()
    assert "it is now rejected (staging)" in page
    fresh_url = reverse("admin:reports_report_fresh", args=[report.pk])
    assert f'formaction="{fresh_url}">Render a fresh card</button>' in page
    assert client.get(fresh_url).status_code == 405  # a state change: POST only
    response = client.post(fresh_url)
    fresh = Report.objects.exclude(pk=report.pk).get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:reports_report_change", args=[fresh.pk]
    )
    assert (fresh.version, fresh.scope, fresh.requested_by) == (report.version, "gdpr", f"user:{officer.pk}")


def test_an_auditor_sees_the_flag_but_no_fresh_card_button(pending_card, officer, auditor, client):
    report, request = pending_card
    approval_decide(request=request, user=officer, verdict="reject", comment="Not this quarter.")
    client.force_login(auditor)
    page = client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()
    assert "stale" in page and "Render a fresh card" not in page
    client.post(reverse("admin:reports_report_fresh", args=[report.pk]))
    assert Report.objects.count() == 1  # refused: auditors change nothing

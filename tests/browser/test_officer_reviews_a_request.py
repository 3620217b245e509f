"""An officer reviews one approval request on its admin page: reads the evidence and the job's findings, writes a
comment and approves, and the page says the approval is recorded."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from evidence.models import EvidenceJob
from registry.models import ApprovalDecision, Dataset
from reports.models import Attestation
from tests.approvals.test_review_page import change_url, open_request, passing_bias_audit

pytestmark = pytest.mark.browser


def unfold(page, selector: str) -> None:
    """Opens a folded section by its summary, as a reader clicks it (an unmet one is open already)."""
    section = page.locator(selector)
    if not section.evaluate("details => details.open"):
        section.locator("summary").first.click()


def test_an_officer_reads_the_evidence_comments_and_approves(page, registered, requester, officer, sign_in, screenshot):
    request = open_request(requester)
    job = passing_bias_audit(request)
    sign_in(officer)
    page.goto(change_url(request))

    expect(page.locator("#review-verdict-line")).to_have_text(
        "Approval is possible now: the evidence the policy requires is complete."
    )
    evidence = page.locator("#review-evidence")
    expect(evidence.get_by_role("heading", name="bias_audit: done")).to_be_visible()
    unfold(page, "#evidence-bias_audit")
    unfold(page, "#review-context")
    expect(evidence.get_by_role("link", name=f"Evidence job #{job.pk}")).to_be_visible()
    expect(evidence.locator(".evidence-findings")).to_contain_text("female (196), male (204)")
    expect(page.locator("#review-lineage")).to_contain_text("a1b2c3d")
    expect(page.locator("#review-checklists")).to_contain_text("GDPR")
    screenshot(page, "review")

    page.get_by_label("Verdict").select_option("approve")
    page.get_by_label("Comment").fill("Bias audit passes on both groups; lineage matches the release commit.")
    page.get_by_role("button", name="Record decision").click()

    expect(page).to_have_url(re.compile(rf"/admin/registry/approvalrequest/{request.pk}/change/$"))
    expect(page.locator(".messagelist .success")).to_have_text(
        f"Your approve is recorded on request #{request.pk}; it is now pending."
    )
    screenshot(page, "approved")
    decision = ApprovalDecision.objects.get(request=request)
    assert decision.decided_by == officer and decision.verdict == "approve" and decision.comment_digest


def _evidence(ci_client, kind: str) -> EvidenceJob:
    """A real job on the registered version and its data, run in this process as the embedded default runs it."""
    url = reverse("v1:evidence-request", args=["credit-scoring", "1.0.0"])
    response = ci_client.post(url, {"kind": kind, "dataset": Dataset.objects.get().pk}, format="json")
    assert response.status_code == 202, response.json()
    job = EvidenceJob.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", job.error
    return job


def _loaded(image) -> bool:
    return image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_an_officer_reads_the_charts_and_attests_an_open_item_picked_from_the_list(
    page, registered, requester, officer, ci_client, sign_in, screenshot, settings
):
    settings.BIAS_BOOTSTRAP_RESAMPLES = 20
    request = open_request(requester)
    request.policy["requires_explanation"] = True
    request.save(update_fields=["policy"])
    bias, explanation = _evidence(ci_client, "bias_audit"), _evidence(ci_client, "explanation")
    sign_in(officer)
    page.goto(change_url(request))

    for section in ("#evidence-bias_audit", "#evidence-explanation", "#checklist-gdpr"):
        unfold(page, section)
    bias_item = page.locator("#evidence-bias_audit")
    expect(bias_item).to_contain_text("Checks with their limits and where each limit comes from")
    expect(bias_item).to_contain_text("Per group, with 95 % bootstrap intervals")
    charts = {
        "selection_rate": page.get_by_role("img", name="Selection rate per group, with 95 % intervals"),
        "importance": page.get_by_role("img", name="Mean |SHAP| per feature"),
        "beeswarm": page.get_by_role("img", name="SHAP values per row (beeswarm)"),
    }
    for chart in charts.values():
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
        assert _loaded(chart)
    expect(page.locator("#evidence-explanation")).to_contain_text("LIME and SHAP per explained row")
    assert {bias.pk, explanation.pk} <= set(EvidenceJob.objects.values_list("pk", flat=True))
    expect(page.locator("#review-waivers")).to_contain_text("No waiver has been granted for this version.")
    screenshot(page, "charts")

    page.locator("#item-gdpr-22-3").get_by_role("link", name="Attest").click()
    expect(page.get_by_label("Item", exact=True)).to_have_value("gdpr:GDPR-22-3")
    page.get_by_label("Answer", exact=True).select_option("met")
    statement = "Declined applicants can ask for a person to review; tested on 2026-11-30."
    page.get_by_label("Statement", exact=True).fill(statement)
    screenshot(page, "attest")
    page.get_by_role("button", name="Record attestation").click()

    expect(page.locator(".messagelist .success")).to_have_text("GDPR-22-3 (GDPR) attested: met.")
    unfold(page, "#checklist-gdpr")
    expect(page.locator("#item-gdpr-22-3")).to_contain_text("attested by officer on")  # passed, and by whom
    expect(page.locator("#attest-item option[value='gdpr:GDPR-22-3']")).to_have_count(0)
    screenshot(page, "attested")
    attestation = Attestation.objects.get(item_id="GDPR-22-3")
    assert (attestation.answered_by, attestation.answer) == (officer, "met")

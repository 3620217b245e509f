"""An officer reviews one approval request on its admin page: reads the evidence and the job's findings, writes a
comment and approves, and the page says the approval is recorded."""

import re

import pytest
from playwright.sync_api import expect

from registry.models import ApprovalDecision
from tests.approvals.test_review_page import change_url, open_request, passing_bias_audit

pytestmark = pytest.mark.browser


def test_an_officer_reads_the_evidence_comments_and_approves(page, registered, requester, officer, sign_in, screenshot):
    request = open_request(requester)
    job = passing_bias_audit(request)
    sign_in(officer)
    page.goto(change_url(request))

    evidence = page.locator("#review-evidence")
    expect(evidence.get_by_role("heading", name="bias_audit: done")).to_be_visible()
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

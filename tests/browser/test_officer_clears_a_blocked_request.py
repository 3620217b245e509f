"""An officer opens a blocked request and learns at the top of its page why it is blocked and what clears it:
runs the missing evidence from there, then waives a failed audit in place, and the page says who may still
decide and why the officer who waived may only reject."""

import re

import pytest
from playwright.sync_api import expect

from evidence.models import EvidenceJob
from registry.models import EvidenceWaiver
from tests.approvals.test_review_page import change_url, open_request
from tests.approvals.test_review_status import failing_bias_audit
from tests.browser.test_content_security_policy import _at_both_widths

pytestmark = pytest.mark.browser


def test_an_officer_runs_the_missing_evidence_from_the_status_panel(
    page, registered, requester, officer, sign_in, screenshot, settings
):
    settings.BIAS_BOOTSTRAP_RESAMPLES = 20
    request = open_request(requester)
    sign_in(officer)
    page.goto(change_url(request))

    status = page.locator("#review-status")
    expect(page.locator("#review-verdict-line")).to_have_text("Approval is blocked now: 2 things to clear.")
    expect(status.locator("#review-blockers")).to_contain_text("bias_audit: no bias audit has been produced")
    expect(status.locator("#review-blockers")).to_contain_text("To clear it: run the missing evidence.")
    expect(status.locator("#review-blockers")).to_contain_text("2 more approvals needed")
    expect(page.locator("#review-deciders")).to_have_text(re.compile(r"May still decide: officer\."))
    status_box = status.bounding_box()
    form_box = page.locator("#review-decide").bounding_box()
    assert status_box["y"] < form_box["y"] < 1200  # the answer and the form lead, above the evidence
    _at_both_widths(page, screenshot, "blocked")

    # The embedded default runs the job in the request's process once it is queued: the answer takes a while.
    page.get_by_role("button", name="Run the missing evidence").click(no_wait_after=True)
    expect(page.locator(".messagelist .success")).to_have_text(
        re.compile(r"^Queued: bias_audit \(job \d+\)\. This page shows their progress\.$"), timeout=180_000
    )
    job = EvidenceJob.objects.get(kind="bias_audit", version=request.version)
    assert job.status == "succeeded", job.error
    expect(page.get_by_role("heading", name=re.compile(r"^bias_audit: (done|failed)$"))).to_be_visible()
    expect(page.locator("#review-run-evidence")).to_have_count(0)
    _at_both_widths(page, screenshot, "evidence-run")


def test_an_officer_waives_a_failed_audit_in_place(page, registered, requester, officer, officer2, sign_in, screenshot):
    request = open_request(requester)
    failing_bias_audit(request)
    sign_in(officer)
    page.goto(change_url(request))

    blockers = page.locator("#review-blockers")
    expect(blockers).to_contain_text("an officer may waive bias_audit in writing")
    waive = page.locator("#review-waive-bias_audit")
    expect(waive.get_by_role("heading")).to_have_text("Waive bias_audit of credit-scoring 1.0.0")
    expect(waive).to_contain_text("The longest the policy allows:")
    waive.get_by_label("Justification").fill("Groups below the minimum size; outcomes reviewed by hand.")
    _at_both_widths(page, screenshot, "waive")
    waive.get_by_role("button", name="Waive bias_audit").click()

    waiver = EvidenceWaiver.objects.get()
    expect(page.locator(".messagelist .success")).to_have_text(
        f"Waiver {waiver.pk}: bias_audit is waived until {waiver.expires_at:%Y-%m-%d}."
    )
    expect(page.locator("#review-reader")).to_have_text(
        "You may not approve this request: you waived bias_audit, so you may reject it but not approve it."
    )
    expect(page.locator("#review-deciders")).to_contain_text(
        "May still decide: officer (waived bias_audit: may reject, not approve), officer2."
    )
    expect(page.locator("#review-deciders")).to_contain_text("Not enough officers may still approve it")
    _at_both_widths(page, screenshot, "waived")

"""An officer's home page in the admin: the request waiting for them, how far its approvals are, and its page."""

import re

import pytest
from playwright.sync_api import expect

from registry.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest, ModelVersion, RegisteredModel, Stage
from registry.policies import policy_snapshot
from tests.factories import team

pytestmark = pytest.mark.browser


@pytest.fixture
def waiting_request(requester, officer2) -> ApprovalRequest:
    model = RegisteredModel.objects.create(name="credit-scoring", owner=requester, risk_tier="high", team=team())
    version = ModelVersion.objects.create(model=model, version="2.0.0", submitted_by=requester, stage=Stage.STAGING)
    policy = policy_snapshot(ApprovalPolicy.objects.get(risk_tier="high"))
    policy.update(approvals_required=2, officer_approvals_required=1)
    request = ApprovalRequest.objects.create(
        version=version, target_stage=Stage.PRODUCTION, requested_by=requester, policy=policy
    )
    ApprovalDecision.objects.create(request=request, decided_by=officer2, verdict="approve", as_officer=True)
    return request


def test_an_officer_finds_the_request_waiting_for_them_and_opens_it(
    page, officer, sign_in, screenshot, waiting_request
):
    sign_in(officer)
    page.goto("/admin/")
    panel = page.locator("#panel-waiting")
    expect(panel.get_by_role("heading", level=2)).to_have_text("Waiting for you")
    row = panel.get_by_role("row").filter(has_text=f"Request #{waiting_request.pk}")
    expect(row.get_by_role("cell")).to_have_text(
        [
            f"Request #{waiting_request.pk}",
            "credit-scoring",
            "2.0.0",
            "production",
            "1 of 2 approvals",
            re.compile(r"\d"),
        ]
    )
    expect(page.locator("#panel-expiring")).to_contain_text("No approval expires within 30 days.")
    expect(page.locator("#panel-production").get_by_role("row", name="High risk 0 in production")).to_be_visible()
    expect(page.get_by_role("link", name="Approval requests")).to_be_visible()  # the app list is still there
    screenshot(page, "dashboard")

    row.get_by_role("link", name=f"Request #{waiting_request.pk}").click()
    expect(page).to_have_url(re.compile(rf"/admin/registry/approvalrequest/{waiting_request.pk}/change/$"))
    expect(page.locator("#content-main")).to_contain_text("1 of 2 approvals.")
    screenshot(page, "request")

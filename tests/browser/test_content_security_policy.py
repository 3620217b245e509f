"""Under the Content-Security-Policy, the pages people use still work in Chromium: the admin, the approval
review page with its evidence charts, and the API docs (Swagger UI from the sidecar assets). Chromium reports
every refused script, style, image or connection as a `securitypolicyviolation` event and a console error;
both are collected from the first byte of each page and must stay empty."""

import pytest
from playwright.sync_api import expect

from tests.approvals.test_review_page import change_url, open_request
from tests.browser.test_officer_reviews_a_request import _evidence, _loaded, unfold

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


@pytest.fixture
def violations(page):
    """Every CSP violation Chromium reported on the pages this test opened, as console text or as events."""
    console: list[str] = []
    page.on(
        "console", lambda message: console.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.add_init_script(COLLECT)

    def read() -> list[str]:
        return console + page.evaluate("window.__cspViolations || []")

    return read


def _policy(response) -> str:
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'"):
        assert directive in policy, policy
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    return policy


def _at_both_widths(page, screenshot, label: str) -> None:
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{label}-{name}")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_the_admin_works_under_the_policy(page, officer, sign_in, violations, screenshot):
    _policy(page.goto("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance audits for machine-learning models")
    # The landing page's own style block ran (it carries the nonce): its table headings do not wrap.
    assert page.locator("#content-main th").first.evaluate("th => getComputedStyle(th).whiteSpace") == "nowrap"
    _at_both_widths(page, screenshot, "landing")

    sign_in(officer)
    _policy(page.goto("/admin/"))
    expect(page.locator("#panel-waiting")).to_contain_text("Waiting for you")
    assert page.locator(".verity-panel table").first.evaluate("t => getComputedStyle(t).width") != "auto"
    _at_both_widths(page, screenshot, "admin-index")

    _policy(page.goto("/admin/audits/auditevent/"))
    expect(page.locator("#changelist")).to_be_visible()
    page.goto("/admin/registry/modelversion/")
    expect(page.locator("#changelist")).to_be_visible()
    assert violations() == []


def test_the_review_page_and_its_charts_work_under_the_policy(
    page, registered, requester, officer, ci_client, sign_in, violations, screenshot, settings
):
    settings.BIAS_BOOTSTRAP_RESAMPLES = 20
    request = open_request(requester)
    _evidence(ci_client, "bias_audit")
    sign_in(officer)
    _policy(page.goto(change_url(request)))
    for section in ("#evidence-bias_audit", "#checklist-gdpr"):
        unfold(page, section)

    chart = page.get_by_role("img", name="Selection rate per group, with 95 % intervals")
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    assert _loaded(chart)
    # The findings' layout comes from evidence/findings.css now that style attributes are refused ...
    assert chart.evaluate("img => getComputedStyle(img).maxWidth") == "100%"
    table = page.locator("#evidence-bias_audit .evidence-table").first
    assert table.evaluate("div => getComputedStyle(div).overflowX") == "auto"
    # ... and the review page's own style block runs with the request's nonce.
    item = page.locator("#review-checklists .review-item-id").first
    assert item.evaluate("td => getComputedStyle(td).whiteSpace") == "nowrap"
    _at_both_widths(page, screenshot, "review")
    assert violations() == []


def test_the_api_docs_work_under_the_policy(page, officer, sign_in, violations, screenshot):
    sign_in(officer)
    _policy(page.goto("/api/docs/"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Verity API")
    operations = page.locator(".swagger-ui .opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 20
    operations.first.locator(".opblock-summary").click()  # an operation opens, as a person would read it
    expect(page.locator(".swagger-ui .opblock.is-open").first).to_be_visible()
    _at_both_widths(page, screenshot, "api-docs")
    assert violations() == []

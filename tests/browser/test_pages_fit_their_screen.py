"""The admin's pages fit the screen they are read on: at 1280 px the audit events' table stays clear of its
filters; at 390 px (a phone) the dashboard, the review page and the monitoring timeline never scroll sideways,
their wide tables and charts scroll inside their own box, and the charts keep a readable size."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from audits.services import audit_event_append
from tests.approvals.test_review_page import change_url, open_request
from tests.browser.test_officer_dashboard import waiting_request  # noqa: F401
from tests.monitoring.test_admin import two_windows  # noqa: F401
from tests.monitoring.test_windows import compas, in_production, model  # noqa: F401

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
READABLE_CHART_PX = 560  # the SVG's 10 px labels at 70 % of their size, the least that reads


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_dashboard_fits_a_phone(page, officer, sign_in, screenshot, waiting_request):  # noqa: F811
    sign_in(officer)
    page.goto("/admin/")
    expect(page.locator("#panel-waiting")).to_contain_text(f"Request #{waiting_request.pk}")
    screenshot(page, "dashboard-1280")
    page.set_viewport_size(PHONE)
    expect(page.locator("#panel-waiting")).to_be_visible()
    assert _fits(page)
    screenshot(page, "dashboard-390")


def test_the_review_page_fits_a_phone(page, registered, requester, officer, sign_in, screenshot):
    request = open_request(requester)
    sign_in(officer)
    page.goto(change_url(request))
    expect(page.locator("#content-main")).to_contain_text("approvals")
    screenshot(page, "review-1280")
    page.set_viewport_size(PHONE)
    assert _fits(page)
    screenshot(page, "review-390")


def test_the_timeline_fits_a_phone_and_its_charts_stay_readable(page, officer, sign_in, screenshot, two_windows):  # noqa: F811
    sign_in(officer)
    page.goto(reverse("admin:monitoring_timeline", args=[two_windows.pk]))
    charts = page.locator("svg.monitoring-chart")
    expect(charts).to_have_count(2)
    expect(charts.first.locator("text.axis-title").first).to_have_text("population stability index")
    screenshot(page, "timeline-1280")
    page.set_viewport_size(PHONE)
    assert _fits(page)
    for index in range(2):
        box = charts.nth(index).bounding_box()
        assert box and box["width"] >= READABLE_CHART_PX
    screenshot(page, "timeline-390")


def test_the_audit_events_table_stays_clear_of_its_filters(page, auditor, sign_in, screenshot):
    for number in range(3):
        audit_event_append(
            actor="service:ci-main",
            action="registry.version_registered",
            object_ref=f"registry.modelversion:{number}-a-long-object-reference-that-widens-the-column",
        )
    sign_in(auditor)
    page.goto("/admin/audits/auditevent/")
    table, filters = page.locator("#result_list"), page.locator("#changelist-filter")
    expect(filters).to_be_visible()
    table_box, filter_box = table.bounding_box(), filters.bounding_box()
    assert table_box["x"] + table_box["width"] <= filter_box["x"]
    assert page.locator(".results").evaluate("box => box.scrollWidth <= box.clientWidth")  # nothing hidden
    screenshot(page, "audit-events-1280")
    page.set_viewport_size(PHONE)
    assert _fits(page)
    screenshot(page, "audit-events-390")


def test_the_waiver_forms_date_and_time_are_named_for_a_screen_reader(page, officer, sign_in, screenshot):
    sign_in(officer)
    page.goto(reverse("admin:registry_evidencewaiver_add"))
    expect(page.get_by_label("Date:")).to_have_attribute("id", "id_expires_at_0")
    expect(page.get_by_label("Time:")).to_have_attribute("id", "id_expires_at_1")
    screenshot(page, "waiver-form-1280")
    page.set_viewport_size(PHONE)
    assert _fits(page)
    screenshot(page, "waiver-form-390")

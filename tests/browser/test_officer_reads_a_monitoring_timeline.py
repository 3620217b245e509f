"""An officer follows the admin from the production windows to a production version's monitoring timeline and
reads it: the drift and performance charts, each window's verdict, and the alert that marked it for re-review."""

import re

import pytest
from playwright.sync_api import expect

from tests.monitoring.test_admin import two_windows  # noqa: F401
from tests.monitoring.test_windows import compas, in_production, model  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_officer_reads_the_timeline_of_a_production_version(
    page,
    officer,
    sign_in,
    screenshot,
    two_windows,  # noqa: F811
):
    sign_in(officer)
    page.goto("/admin/monitoring/productionwindow/")
    page.locator("#production-versions-link").click()
    expect(page.locator("#content")).to_contain_text("compas 1.0.0")
    screenshot(page, "production-versions")
    page.get_by_role("link", name="compas 1.0.0").click()
    expect(page).to_have_url(re.compile(rf"/timeline/{two_windows.pk}/$"))
    charts = page.locator("svg.monitoring-chart")
    expect(charts).to_have_count(2)
    for index in range(2):
        box = charts.nth(index).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100
    expect(page.locator("#content")).to_contain_text("PSI alert 0.15")
    expect(page.locator("#content")).to_contain_text("marked for re-review")
    screenshot(page, "timeline")

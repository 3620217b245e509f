"""A person's first steps: the landing page, the admin's sign-in, and an address that does not exist."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_from_the_landing_page_an_officer_signs_in_to_the_admin(page, officer, screenshot):
    page.goto("/")
    expect(page).to_have_title(re.compile(r"^Welcome \| Verity"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance audits for machine-learning models")
    expect(page.locator("#content-main")).to_contain_text("Verity keeps a registry of model versions")
    links = page.get_by_role("table").get_by_role("link")
    expect(links).to_have_text(["Admin", "API documentation", "OpenAPI schema", "Health"])
    screenshot(page, "landing")

    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Verity")
    screenshot(page, "login")
    page.set_viewport_size({"width": 390, "height": 800})
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    screenshot(page, "login-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    officer.set_password("officer-browser-password")
    officer.save(update_fields=["password"])
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill("officer-browser-password")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Registry, approvals and audit trail")
    expect(page.locator("#user-tools")).to_contain_text("Welcome, officer.")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="Approval requests")).to_be_visible()
    screenshot(page, "admin-index")


def test_a_wrong_password_keeps_the_officer_on_the_login_form(page, officer, screenshot):
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("officer")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errornote")).to_contain_text("Please enter the correct username and password")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    screenshot(page, "login-refused")


def test_an_unknown_admin_address_shows_a_page_not_found_with_the_way_back(page, officer, sign_in, screenshot):
    sign_in(officer)
    response = page.goto("/admin/no-such-page/")
    assert response.status == 404
    expect(page).to_have_title(re.compile(r"^Page not found \| Verity"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found (404)")
    expect(page.locator("#content-main")).to_contain_text("There is no page at this address.")
    expect(page.locator("#content-main code").first).to_have_text("/admin/no-such-page/")
    screenshot(page, "admin-404")

    page.get_by_role("link", name="Back to the admin").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Registry, approvals and audit trail")

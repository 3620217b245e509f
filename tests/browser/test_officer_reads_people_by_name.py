"""An officer reads people by name: the queue's requester column and the review page's "Requested by" name the
data scientist who asked (not `user:5`), and the link beside the name opens that person's events in the trail,
which an officer may read (the account page, which only administrators may open, is not linked). After the
person is erased, the page reads "erased person"."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from audits.services import person_erase
from tests.approvals.test_review_page import change_url, open_request

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_an_officer_reads_the_requester_by_name_and_follows_them_into_the_trail(
    page, registered, requester, officer, admin_user, sign_in, screenshot, width
):
    requester.first_name, requester.last_name = "Rita", "Requester"
    requester.save()
    request = open_request(requester)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(officer)

    page.goto(reverse("admin:registry_approvalrequest_changelist"))
    expect(page.locator("td.field-requested")).to_have_text("Rita Requester")
    screenshot(page, f"queue-{width}")

    page.goto(change_url(request))
    requested_by = page.locator(".field-requester .readonly")
    expect(requested_by).to_contain_text("Rita Requester")
    expect(requested_by.locator(f'span[title="user:{requester.pk}"]')).to_have_text("Rita Requester")
    expect(page.locator(f'a[href*="/admin/auth/user/{requester.pk}/"]')).to_have_count(0)
    screenshot(page, f"review-{width}")

    requested_by.get_by_role("link", name="their events in the trail").click()
    expect(page).to_have_url(re.compile(r"/admin/audits/auditevent/\?actor=user%3A\d+$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    person_erase(subject=f"user:{requester.pk}", actor=f"user:{admin_user.pk}")
    page.goto(change_url(request))
    expect(page.locator(".field-requester .readonly span.person")).to_have_text("erased person")
    expect(page.locator("#content")).not_to_contain_text("Rita")

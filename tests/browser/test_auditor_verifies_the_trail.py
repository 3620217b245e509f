"""An auditor opens the audit events, reads who did what by name, and verifies the whole trail."""

import re

import pytest
from playwright.sync_api import expect

from audits.models import AuditEvent
from audits.services import audit_event_append, checkpoint_create
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_an_auditor_sees_names_beside_pseudonyms_and_verifies_the_trail(page, auditor, sign_in, screenshot):
    jane = UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    audit_event_append(actor=f"user:{jane.pk}", action="approval.decided", object_ref="approvals.request:1")
    audit_event_append(actor="service:ci-main", action="registry.version_registered", object_ref="registry.x:2")
    checkpoint_create()
    audit_event_append(actor=f"user:{jane.pk}", action="approval.withdrawn", object_ref="approvals.request:1")
    stored = list(AuditEvent.objects.order_by("seq").values_list("body", flat=True))
    sign_in(auditor)

    page.get_by_role("link", name="Audit events").click()
    expect(page).to_have_url(re.compile(r"/admin/audits/auditevent/$"))
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#result_list")).to_contain_text(f"Jane Doe (user:{jane.pk})")
    expect(page.locator("#result_list")).to_contain_text("service:ci-main")
    expect(page.get_by_role("link", name="Export")).to_be_visible()
    screenshot(page, "audit-events")

    page.get_by_role("button", name="Verify the trail").click()
    expect(page).to_have_url(re.compile(r"/admin/audits/auditevent/verify/$"))
    expect(page.locator("#verify-result")).to_have_text("The trail verifies: 3 events, 1 signed checkpoint verified.")
    expect(page.locator("#verify-head")).to_have_text(AuditEvent.objects.get(seq=3).hash)
    screenshot(page, "verified")

    assert list(AuditEvent.objects.order_by("seq").values_list("body", flat=True)) == stored
    page.get_by_role("link", name="Back to the audit events").click()
    expect(rows).to_have_count(3)

"""A re-review that production monitoring opened names its trigger and links it, on its page, in the requests'
list, the officers' queue and the version's timeline; the windows that were checked count as the drift check the
policy and the GDPR checklist ask for, so neither says that no drift check has been run."""

import pytest
from django.urls import reverse

from approvals.requirements import evidence_status
from registry.models import ApprovalPolicy, ApprovalRequest
from reports.checklists import checklist_evaluate
from tests.monitoring.test_windows import _run, _window_rows, compas, in_production, model  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def rereview(in_production, compas, model, ci_client, django_capture_on_commit_callbacks):  # noqa: F811
    """Two windows of older defendants flag drift; the first opens the re-review under a policy that asks for
    a drift check before production is approved again."""
    ApprovalPolicy.objects.update(requires_drift_check_for_reapproval=True)
    shifted = compas.iloc[3600:].assign(age=lambda f: f.age + 15)
    rows = _window_rows(model, shifted, labelled=False)
    first = _run(ci_client, rows, django_capture_on_commit_callbacks)
    second = _run(
        ci_client, rows, django_capture_on_commit_callbacks, start="2026-11-08T00:00:00Z", end="2026-11-15T00:00:00Z"
    )
    request = ApprovalRequest.objects.get(version=in_production, status="pending")
    return request, first, second


def test_the_checked_windows_are_the_drift_check_of_the_re_review(rereview):
    request, _, second = rereview
    assert request.trigger_ref == f"monitoring.productionwindow:{rereview[1].pk}"
    (drift,) = [item for item in evidence_status(request.version, request.policy) if item.requirement == "drift_check"]
    assert drift.status == "failed" and "no drift check" not in drift.reason
    assert drift.reason.startswith(f"production window {second.pk} (2026-11-08 to 2026-11-15) found drift")
    assert drift.digests["window"] == second.pk and drift.digests["result_sha256"] == second.result_sha256
    items = {item.item_id: item for item in checklist_evaluate(request.version, "gdpr")}
    assert items["GDPR-5-1-D"].status == "failed"
    assert "no drift check" not in items["GDPR-5-1-D"].reason
    assert f"production window {second.pk}" in items["GDPR-5-1-D"].reason


def test_the_re_review_names_its_trigger_and_links_the_window_and_the_timeline(rereview, client, officer):
    request, first, _ = rereview
    client.force_login(officer)
    window_url = reverse("admin:monitoring_productionwindow_change", args=[first.pk])
    timeline_url = reverse("admin:monitoring_timeline", args=[request.version_id])
    page = client.get(reverse("admin:registry_approvalrequest_change", args=[request.pk])).content.decode()
    trigger = page.split('id="review-trigger"', 1)[1].split("</p>", 1)[0]
    assert "Opened by the system:</strong> monitoring alert (" in trigger
    assert f'href="{window_url}"' in trigger and f'href="{timeline_url}"' in trigger
    assert "<strong>drift_check</strong>: production window" in page  # a blocker in words, not 'missing'
    listing = client.get(reverse("admin:registry_approvalrequest_changelist")).content.decode()
    assert "system: monitoring alert (" in listing and f'href="{window_url}"' in listing
    queue = client.get(reverse("admin:index")).content.decode()
    assert "re-review: monitoring alert (" in queue
    timeline = client.get(timeline_url).content.decode()
    request_url = reverse("admin:registry_approvalrequest_change", args=[request.pk])
    assert f'<a href="{request_url}">re-review request #{request.pk}</a>' in timeline

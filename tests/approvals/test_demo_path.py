"""The demo's own path can be walked to its end by a newcomer: its request needs a waiver (its bias audit
fails) and two approvals, and whoever waives may not approve, so the demo has enough officers, and the page
says who may still decide."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from approvals.review import review_status
from approvals.services import approval_decide
from approvals.waivers import evidence_waiver_grant
from registry.models import ApprovalRequest

pytestmark = pytest.mark.django_db


def test_the_demo_request_can_be_waived_and_approved_by_its_own_officers(
    client, django_capture_on_commit_callbacks, capsys
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_setup")
    capsys.readouterr()
    users = {user.username: user for user in get_user_model().objects.all()}
    request = ApprovalRequest.objects.get(version__model__name="demo-credit-scoring")
    client.force_login(users["officer"])
    page = client.get(reverse("admin:registry_approvalrequest_change", args=[request.pk])).content.decode()
    assert "May still decide: officer, officer2, officer3." in page
    blockers = {blocker.requirement: blocker for blocker in review_status(request, users["officer"])["blockers"]}
    if "bias_audit" in blockers:  # the demo's audit fails: an officer waives it and then may only reject
        assert blockers["bias_audit"].action == "waive"
        evidence_waiver_grant(
            version=request.version,
            requirement="bias_audit",
            justification="Demo: the synthetic applicants' groups were reviewed by hand.",
            user=users["officer"],
        )
    status = review_status(request, users["officer"])
    assert status["approvable_now"] and status["enough_deciders"], status["blockers"]
    for name in ("officer2", "officer3"):
        approval_decide(request=request, user=users[name], verdict="approve", comment="Demo walk-through.")
    request.refresh_from_db()
    assert request.status == "approved"

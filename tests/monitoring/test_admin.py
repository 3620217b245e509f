"""The monitoring pages of the admin: the production versions, a version's timeline with its charts, and the
policy per risk tier, which only a superuser changes (through its service, with its audit event)."""

import json

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from monitoring.models import MonitoringPolicy
from tests.monitoring.test_windows import _run, _window_rows, compas, in_production, model  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_windows(in_production, compas, model, ci_client, django_capture_on_commit_callbacks):  # noqa: F811
    held_out = compas.iloc[3600:]
    _run(ci_client, _window_rows(model, held_out), django_capture_on_commit_callbacks)
    shifted = held_out.assign(age=lambda f: f.age + 15)
    later = {"start": "2026-11-08T00:00:00Z", "end": "2026-11-15T00:00:00Z"}
    _run(ci_client, _window_rows(model, shifted, labelled=False), django_capture_on_commit_callbacks, **later)
    return in_production


def test_an_officer_reads_a_production_version_s_timeline(client, officer, two_windows):
    client.force_login(officer)
    windows = client.get(reverse("admin:monitoring_productionwindow_changelist"))
    assert windows.status_code == 200 and 'id="production-versions-link"' in windows.content.decode()
    production = client.get(reverse("admin:monitoring_production"))
    assert production.status_code == 200
    assert "compas 1.0.0" in production.content.decode()
    page = client.get(reverse("admin:monitoring_timeline", args=[two_windows.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('<svg class="monitoring-chart"') == 2
    assert "PSI alert 0.15" in body and "roc_auc per window" in body
    assert "marked for re-review" in body  # the shifted window's alert
    rows = page.context["rows"]
    assert [row["verdict"] for row in rows] == ["ok", "alert"]
    assert rows[0]["realised"]["value"] is not None and rows[1]["realised"] is None
    assert rows[1]["estimated"]["estimate"] is True


def test_people_who_do_not_read_everything_get_no_timeline(client, requester, two_windows):
    client.force_login(requester)
    assert client.get(reverse("admin:monitoring_timeline", args=[two_windows.pk])).status_code in (302, 403)
    assert client.get(reverse("admin:monitoring_production")).status_code in (302, 403)


def test_a_superuser_changes_a_policy_through_its_service(client, admin_user, officer):
    policy = MonitoringPolicy.objects.get(risk_tier="high")
    url = reverse("admin:monitoring_monitoringpolicy_change", args=[policy.pk])
    form = {
        "monitors": json.dumps(policy.monitors),
        "psi_alert": "0.2",
        "psi_alert_source": "Our own back-testing of 2025",
        "min_rows": policy.min_rows,
        "min_labelled_rows": policy.min_labelled_rows,
        "max_performance_drop": policy.max_performance_drop,
        "retrain_on_drift": "on",
        "retrain_on_performance": "on",
        "retrain_every_days": policy.retrain_every_days,
    }
    client.force_login(officer)
    assert client.post(url, form).status_code == 403
    client.force_login(admin_user)
    assert client.post(url, form).status_code == 302
    policy.refresh_from_db()
    assert policy.psi_alert == 0.2 and policy.psi_alert_source == "Our own back-testing of 2025"
    (event,) = AuditEvent.objects.filter(action="monitoring.policy_changed")
    data = json.loads(bytes(event.body))["data"]
    assert data["before"]["psi_alert"] == 0.15 and data["after"]["psi_alert"] == 0.2

"""The report endpoints and the admin download, per persona; every download is an audit event."""

import hashlib

import pytest
from django.urls import reverse

from audits.ledger.hashing import canonical
from reports.models import Report
from tests.factories import UserFactory
from tests.reports.card_fixtures import events, evidenced, rendered  # noqa: F401

pytestmark = pytest.mark.django_db


def _request(client, scope="gdpr", **headers):
    url = reverse("v1:report-request", args=["credit-scoring", "1.0.0"])
    return client.post(url, {"scope": scope}, format="json", headers=headers)


def test_officers_and_ci_request_reports_others_may_not(
    evidenced,  # noqa: F811
    ci_client,
    client_as,
    officer,
    auditor,
    requester,
    outsider,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        by_officer = _request(client_as(officer), scope="combined")
    assert by_officer.status_code == 202, by_officer.json()
    assert Report.objects.get(pk=by_officer.json()["id"]).status == "succeeded"
    by_ci = _request(ci_client, **{"Idempotency-Key": "report-1"})
    again = _request(ci_client, **{"Idempotency-Key": "report-1"})
    assert by_ci.status_code == again.status_code == 202 and by_ci.json()["id"] == again.json()["id"]
    assert by_ci.json()["status"] == "queued" and by_ci.json()["scope"] == "gdpr"
    for user in (auditor, requester, outsider):
        assert _request(client_as(user)).status_code == 403
    assert Report.objects.count() == 2


def test_a_scope_that_does_not_apply_is_refused_naming_the_field(evidenced, client_as, officer):  # noqa: F811
    for scope in ("hipaa", "nonsense", ""):
        response = _request(client_as(officer), scope=scope)
        assert response.status_code == 400
        assert "scope" in response.json()["error"]["fields"], response.json()


def test_auditors_and_officers_read_and_download_and_each_download_is_recorded(
    rendered,  # noqa: F811
    client_as,
    auditor,
    officer,
    ci_client,
):
    report = rendered
    state = client_as(auditor).get(reverse("v1:report", args=[report.pk]))
    assert state.status_code == 200 and state.json()["pdf_sha256"] == report.pdf_sha256
    assert ci_client.get(reverse("v1:report", args=[report.pk])).status_code == 200
    pdf = client_as(auditor).get(reverse("v1:report-pdf", args=[report.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(b"".join(pdf.streaming_content)).hexdigest() == report.pdf_sha256
    card = client_as(officer).get(reverse("v1:report-evidence", args=[report.pk]))
    assert card.status_code == 200 and card.content == canonical(report.inputs)
    assert hashlib.sha256(card.content).hexdigest() == report.inputs_sha256
    downloads = events("report.downloaded")
    assert [(d["actor"], d["data"]["what"]) for d in downloads] == [
        (f"user:{auditor.pk}", "pdf"),
        (f"user:{officer.pk}", "card"),
    ]


def test_others_cannot_read_or_download_and_leave_no_download_event(
    rendered,  # noqa: F811
    client_as,
    requester,
    outsider,
    ci_client,
    anon_client,
):
    for client in (client_as(requester), client_as(outsider)):
        for name in ("v1:report", "v1:report-pdf", "v1:report-evidence"):
            assert client.get(reverse(name, args=[rendered.pk])).status_code == 403
    for name in ("v1:report-pdf", "v1:report-evidence"):
        assert ci_client.get(reverse(name, args=[rendered.pk])).status_code == 403
    assert anon_client.get(reverse("v1:report-pdf", args=[rendered.pk])).status_code in (401, 403)
    assert not events("report.downloaded")


def test_rederive_over_the_api(rendered, client_as, auditor, outsider, ci_client):  # noqa: F811
    url = reverse("v1:report-rederive", args=[rendered.pk])
    assert client_as(outsider).post(url).status_code == 403
    assert ci_client.post(url).status_code == 403
    response = client_as(auditor).post(url)
    assert response.status_code == 202
    assert response.json()["rederive_matches"] is True
    assert response.json()["rederived_sha256"] == rendered.pdf_sha256
    queued = Report.objects.create(version=rendered.version, scope="gdpr", requested_by="user:1")
    refused = client_as(auditor).post(reverse("v1:report-rederive", args=[queued.pk]))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_rendered"


def test_the_admin_lists_reports_and_its_download_is_recorded(rendered, client, auditor, outsider):  # noqa: F811
    client.force_login(auditor)
    listing = client.get(reverse("admin:reports_report_changelist"))
    assert listing.status_code == 200 and rendered.pdf_sha256[:16] in listing.content.decode()
    pdf = client.get(reverse("admin:reports_report_pdf", args=[rendered.pk]))
    assert pdf.status_code == 200
    assert hashlib.sha256(b"".join(pdf.streaming_content)).hexdigest() == rendered.pdf_sha256
    (downloaded,) = events("report.downloaded")
    assert downloaded["data"]["via"] == "admin" and downloaded["actor"] == f"user:{auditor.pk}"
    client.force_login(UserFactory(username="staff-no-role", is_staff=True))
    assert client.get(reverse("admin:reports_report_pdf", args=[rendered.pk])).status_code == 403
    assert len(events("report.downloaded")) == 1

"""Where a model-card render stands, as the admin's progress bar and the API show it: the step it reached,
never complete before the PDF is kept, queued after a requeue whatever an earlier attempt reached, and the
step it failed at kept with the failure."""

import pytest
from django.conf import settings
from django.urls import reverse

from core.blobs import blob_path
from evidence.models import EvidenceJob
from reports import jobs
from reports.models import Report
from reports.report_admin import report_progress
from tests.reports.card_fixtures import evidenced, rendered  # noqa: F401

pytestmark = pytest.mark.django_db


def _at(report: Report, **fields) -> Report:
    Report.objects.filter(pk=report.pk).update(**fields)
    return Report.objects.get(pk=report.pk)


def test_each_step_counts_only_once_the_next_has_begun(evidenced, officer):  # noqa: F811
    report = jobs.report_request(version=evidenced, scope="gdpr", user=officer)
    assert report_progress(report) == (0, 3, "queued")
    running = _at(report, status="running", step="building")
    assert report_progress(running) == (
        0,
        3,
        "running: gathering the evidence, checklists and trail into the card (step 1 of 3)",
    )
    assert report_progress(_at(report, step="rendering")) == (1, 3, "running: rendering the PDF (step 2 of 3)")
    assert report_progress(_at(report, step="storing"))[:2] == (2, 3)
    assert report_progress(_at(report, status="queued")) == (0, 3, "queued")  # requeued: the step is history


def test_a_finished_render_reads_complete_with_its_pages(rendered):  # noqa: F811
    assert rendered.step == "storing"  # the last step it began
    assert report_progress(rendered) == (3, 3, f"rendered: {rendered.pages} pages")


def test_a_failed_render_keeps_the_step_it_failed_at(evidenced, officer):  # noqa: F811
    report = jobs.report_request(version=evidenced, scope="gdpr", user=officer)
    chart = EvidenceJob.objects.get(kind="bias_audit").result["charts"]["selection_rate"]
    blob_path(settings.EVIDENCE_ROOT, chart).unlink()  # the card is built, then its charts are read to render
    assert jobs.report_run(report.pk) == "failed"
    report.refresh_from_db()
    assert report.step == "rendering"
    assert report_progress(report) == (1, 3, "failed while rendering the PDF")


def test_the_admin_list_and_the_api_show_where_a_render_stands(client, ci_client, evidenced, officer, auditor):  # noqa: F811
    report = jobs.report_request(version=evidenced, scope="gdpr", user=officer)
    _at(report, status="running", step="rendering")
    client.force_login(auditor)
    listing = client.get(reverse("admin:reports_report_changelist")).content.decode()
    assert '<progress value="1" max="3">33 %</progress> running: rendering the PDF (step 2 of 3)' in listing
    detail = client.get(reverse("admin:reports_report_change", args=[report.pk])).content.decode()
    assert "running: rendering the PDF (step 2 of 3)" in detail
    body = ci_client.get(reverse("v1:report", args=[report.pk])).json()
    assert (body["status"], body["step"]) == ("running", "rendering")

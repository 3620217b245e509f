"""An auditor finds a version's model card in the reports admin, sees that its render finished, and downloads
the PDF; the download is in the trail before the bytes leave."""

import re

import pytest
from playwright.sync_api import expect

from audits.models import AuditEvent
from reports import jobs
from reports.models import Report
from tests.reports.card_fixtures import evidenced, pdf_reader  # noqa: F401

pytestmark = pytest.mark.browser


def test_an_auditor_sees_a_finished_render_and_downloads_its_pdf(
    page,
    evidenced,  # noqa: F811
    officer,
    auditor,
    sign_in,
    screenshot,
):
    jobs.report_request(version=evidenced, scope="gdpr", user=officer)  # rendered in-process once committed
    report = Report.objects.get()
    assert report.status == "succeeded", report.error
    sign_in(auditor)

    page.locator("#reports-report").get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/admin/reports/report/$"))
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text(f"rendered: {report.pages} pages")
    expect(row.locator("progress")).to_have_attribute("value", "3")
    screenshot(page, "reports")

    with page.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    data = open(download.value.path(), "rb").read()  # noqa: SIM115
    assert len(pdf_reader(data).pages) == report.pages
    assert download.value.suggested_filename == "credit-scoring-1.0.0-gdpr-model-card.pdf"
    assert AuditEvent.objects.filter(action="report.downloaded").count() == 1

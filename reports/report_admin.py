"""Rendered reports in the admin: a read-only list and a download link; every download is an audit event.

Registered by reports/admin.py.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from audits.admin import ReadOnlyAdmin
from core.errors import DomainError
from core.permissions import reads_everything
from reports import jobs
from reports.models import Report


def can_read_reports(user) -> bool:
    return reads_everything(user)


def report_progress(report: Report) -> tuple[int, int, str]:
    """(steps behind it, steps in all, words): a render counts a step only once the next has begun, so it
    never reads done before the PDF is kept; queued is 0, whatever an earlier attempt reached."""
    steps, total = list(jobs.STEPS), len(jobs.STEPS)
    if report.status == Report.Status.SUCCEEDED:
        return total, total, f"rendered: {report.pages} pages"
    if report.status == Report.Status.QUEUED:
        return 0, total, "queued"
    done = steps.index(report.step) if report.step in steps else 0
    doing = jobs.STEPS.get(report.step, "starting")
    if report.status == Report.Status.FAILED:
        return done, total, f"failed while {doing}"
    return done, total, f"running: {doing} (step {done + 1} of {total})"


class ReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "version", "scope", "status", "progress_bar", "short_pdf_sha256", "created_at"]
    list_display += ["download"]
    list_filter = ["status", "scope"]
    search_fields = ["version__model__name", "=pdf_sha256"]
    list_select_related = ["version__model"]
    fields = [
        "version",
        "scope",
        "status",
        "progress_bar",
        "requested_by",
        "inputs_sha256",
        "pdf_sha256",
        "pdf_size",
        "pages",
        "error",
        "attempts",
        "created_at",
        "finished_at",
        "rederived_at",
        "rederived_sha256",
        "rederive_matches",
        "download",
    ]
    readonly_fields = fields

    def has_module_permission(self, request) -> bool:
        return can_read_reports(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_read_reports(request.user)

    @admin.display(description="progress")
    def progress_bar(self, obj) -> str:
        done, total, words = report_progress(obj)
        percent = done * 100 // total
        return format_html('<progress value="{}" max="{}">{} %</progress> {}', done, total, percent, words)

    @admin.display(description="PDF SHA-256")
    def short_pdf_sha256(self, obj) -> str:
        return f"{obj.pdf_sha256[:16]}…" if obj.pdf_sha256 else "—"

    @admin.display(description="download")
    def download(self, obj) -> str:
        if obj.status != Report.Status.SUCCEEDED:
            return "—"
        url = reverse("admin:reports_report_pdf", args=[obj.pk])
        return format_html('<a href="{}">PDF</a> (the download is recorded in the audit trail)', url)

    def get_urls(self):
        pdf = path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="reports_report_pdf")
        return [pdf, *super().get_urls()]

    def pdf_view(self, request, pk):
        if not can_read_reports(request.user):
            raise PermissionDenied
        report = get_object_or_404(Report.objects.select_related("version__model"), pk=pk)
        try:
            jobs.report_download(report=report, user=request.user, via="admin")
        except DomainError as exc:
            raise Http404(exc.message) from exc
        name = jobs.report_filename(report)
        stream = open(jobs.report_pdf_path(report), "rb")  # noqa: SIM115 (FileResponse closes it)
        return FileResponse(stream, content_type="application/pdf", as_attachment=True, filename=name)

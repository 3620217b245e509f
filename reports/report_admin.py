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


class ReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "version", "scope", "status", "pages", "short_pdf_sha256", "created_at", "download"]
    list_filter = ["status", "scope"]
    search_fields = ["version__model__name", "=pdf_sha256"]
    list_select_related = ["version__model"]
    fields = [
        "version",
        "scope",
        "status",
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
        name = f"{report.version.model.name}-{report.version.version}-{report.scope}-model-card.pdf"
        stream = open(jobs.report_pdf_path(report), "rb")  # noqa: SIM115 (FileResponse closes it)
        return FileResponse(stream, content_type="application/pdf", as_attachment=True, filename=name)

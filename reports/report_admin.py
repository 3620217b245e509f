"""Rendered reports in the admin: a read-only list and a download link; every download is an audit event.

Registered by reports/admin.py.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from audits.admin import ReadOnlyAdmin, person_field
from audits.services import actor_for
from core.errors import DomainError
from core.permissions import model_write_check, reads_everything
from registry.models import ModelVersion
from reports import jobs
from reports.mlbom_apis import bom_response
from reports.mlbom_issue import model_version_bom_issue
from reports.models import Report
from reports.selectors import report_stale_reasons


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


def _may_render(request, report: Report) -> bool:
    try:
        model_write_check(request.user, report.version.model)
    except DomainError:
        return False
    return True


class ReportAdmin(ReadOnlyAdmin):
    change_form_template = "admin/reports/report/change_form.html"
    list_display = ["id", "version", "scope", "status", "progress_bar", "freshness", "short_pdf_sha256", "created_at"]
    list_display += ["download", "ml_bom"]
    list_filter = ["status", "scope"]
    search_fields = ["version__model__name", "=pdf_sha256"]
    list_select_related = ["version__model"]
    fields = [
        "version",
        "scope",
        "status",
        "progress_bar",
        "freshness",
        "requester",
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
        "ml_bom",
    ]
    readonly_fields = fields
    requester = person_field("requested_by", "requested by")

    def has_module_permission(self, request) -> bool:
        return can_read_reports(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_read_reports(request.user)

    @admin.display(description="progress")
    def progress_bar(self, obj) -> str:
        done, total, words = report_progress(obj)
        percent = done * 100 // total
        return format_html('<progress value="{}" max="{}">{} %</progress> {}', done, total, percent, words)

    @admin.display(description="still true?")
    def freshness(self, obj) -> str:
        reasons = report_stale_reasons(obj) if obj.status == Report.Status.SUCCEEDED else []
        if not reasons:
            return "current" if obj.status == Report.Status.SUCCEEDED else "—"
        items = format_html_join("", "<li>{}</li>", ((reason,) for reason in reasons))
        return format_html('<strong class="stale-card">stale</strong><ul class="stale-reasons">{}</ul>', items)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = self.get_object(request, object_id)
        context = {**(extra_context or {}), "can_render_fresh": report is not None and _may_render(request, report)}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="PDF SHA-256")
    def short_pdf_sha256(self, obj) -> str:
        return f"{obj.pdf_sha256[:16]}…" if obj.pdf_sha256 else "—"

    @admin.display(description="download")
    def download(self, obj) -> str:
        if obj.status != Report.Status.SUCCEEDED:
            return "—"
        url = reverse("admin:reports_report_pdf", args=[obj.pk])
        return format_html('<a href="{}">PDF</a> (the download is recorded in the audit trail)', url)

    @admin.display(description="ML-BOM")
    def ml_bom(self, obj) -> str:
        url = reverse("admin:reports_ml_bom", args=[obj.version_id])
        return format_html('<a href="{}">CycloneDX ML-BOM</a> of this version, as it stands', url)

    def get_urls(self):
        pdf = path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="reports_report_pdf")
        fresh = path(
            "<int:pk>/fresh/", self.admin_site.admin_view(require_POST(self.fresh_view)), name="reports_report_fresh"
        )
        bom = path("ml-bom/<int:version_pk>/", self.admin_site.admin_view(self.ml_bom_view), name="reports_ml_bom")
        return [pdf, fresh, bom, *super().get_urls()]

    def fresh_view(self, request, pk):
        """A new card of the same version and scope, from the state as it is now; the old one stays."""
        report = get_object_or_404(Report.objects.select_related("version__model"), pk=pk)
        if not can_read_reports(request.user):
            raise PermissionDenied
        try:
            fresh = jobs.report_request(version=report.version, scope=report.scope, user=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:reports_report_change", args=[report.pk]))
        fresh.refresh_from_db()
        self.message_user(request, f"Report {fresh.pk}: a fresh card of report {report.pk}'s version, {fresh.status}.")
        return HttpResponseRedirect(reverse("admin:reports_report_change", args=[fresh.pk]))

    def ml_bom_view(self, request, version_pk):
        """The version's ML-BOM, through the same service as the API (its SHA-256 goes to the trail)."""
        if not can_read_reports(request.user):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion.objects.select_related("model", "artifact"), pk=version_pk)
        return bom_response(version, model_version_bom_issue(version=version, actor=actor_for(request.user)))

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

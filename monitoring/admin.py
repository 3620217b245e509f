"""Production monitoring in the admin: the windows, a timeline per production version (its windows, what
they raised, and charts), and the monitoring policy per risk tier, changed through its service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from audits.admin import ReadOnlyAdmin
from audits.services import object_ref
from core.permissions import reads_everything
from monitoring.models import MonitoringPolicy, ProductionWindow
from monitoring.selectors import rereviews_opened, windows_current
from monitoring.services import POLICY_FIELDS, monitoring_policy_update
from monitoring.timeline import timeline_charts, timeline_rows
from registry.models import ModelVersion, Stage


def timeline_context(version: ModelVersion) -> dict:
    """The version's windows (the newest upload of each), oldest first, with the two charts, and the re-review
    each window's alert opened."""
    windows = windows_current(version)
    rereviews = rereviews_opened(version)
    rows = timeline_rows(
        [
            {
                "label": f"{window.window_start:%Y-%m-%d}",
                "window": window,
                "result": window.result,
                "rereview": rereviews.get(object_ref(window)),
            }
            for window in windows
        ]
    )
    policy = windows[-1].policy if windows else None
    return {"version": version, "rows": rows, "policy": policy, "charts": timeline_charts(rows, policy) if rows else []}


@admin.register(ProductionWindow)
class ProductionWindowAdmin(ReadOnlyAdmin):
    change_list_template = "admin/monitoring/productionwindow/change_list.html"
    list_display = ["id", "model_version", "window_start", "window_end", "rows", "labelled", "status", "verdict"]
    list_display += ["timeline_link"]
    list_filter = ["status", "verdict", "labelled"]
    search_fields = ["version__model__name"]
    list_select_related = ["version__model"]
    fields = [
        "model_version",
        "window_start",
        "window_end",
        "rows",
        "labelled",
        "status",
        "verdict",
        "alerts",
        "sha256",
        "result_sha256",
        "policy",
        "error",
        "attempts",
        "created_at",
        "finished_at",
    ]
    readonly_fields = fields

    def has_module_permission(self, request) -> bool:
        return reads_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return reads_everything(request.user)

    @admin.display(description="model version", ordering="version__model__name")
    def model_version(self, obj) -> str:
        return f"{obj.version.model.name} {obj.version.version}"

    @admin.display(description="alerts")
    def alerts(self, obj) -> str:
        alerts = (obj.result or {}).get("alerts") or []
        return "; ".join(f"{alert['monitor']}: {alert['reason']}" for alert in alerts) or "none"

    @admin.display(description="timeline")
    def timeline_link(self, obj) -> str:
        return format_html('<a href="{}">timeline</a>', reverse("admin:monitoring_timeline", args=[obj.version_id]))

    def get_urls(self):
        return [
            path("production/", self.admin_site.admin_view(self.production_view), name="monitoring_production"),
            path(
                "timeline/<int:version_pk>/",
                self.admin_site.admin_view(self.timeline_view),
                name="monitoring_timeline",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, title: str) -> dict:
        if not reads_everything(request.user):
            raise PermissionDenied
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title}

    def production_view(self, request):
        context = self._page(request, "Production versions under monitoring")
        versions = ModelVersion.objects.filter(stage=Stage.PRODUCTION).select_related("model")
        context["versions"] = [
            {"version": version, "windows": windows_current(version)} for version in versions.order_by("model__name")
        ]
        return TemplateResponse(request, "admin/monitoring/production.html", context)

    def timeline_view(self, request, version_pk: int):
        version = get_object_or_404(ModelVersion.objects.select_related("model"), pk=version_pk)
        context = self._page(request, f"Monitoring of {version.model.name} {version.version}")
        return TemplateResponse(request, "admin/monitoring/timeline.html", {**context, **timeline_context(version)})


@admin.register(MonitoringPolicy)
class MonitoringPolicyAdmin(admin.ModelAdmin):
    list_display = ["risk_tier", "psi_alert", "min_rows", "min_labelled_rows", "max_performance_drop"]
    list_display += ["retrain_on_drift", "retrain_on_performance", "retrain_every_days"]
    readonly_fields = ["risk_tier", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            raise PermissionDenied
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in POLICY_FIELDS}
        original = MonitoringPolicy.objects.get(pk=obj.pk)  # the form has set the new values on obj already
        try:
            monitoring_policy_update(user=request.user, policy=original, **changes)
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)

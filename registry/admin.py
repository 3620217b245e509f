"""The registry in the admin: models, versions, data sets and deployments, read-only."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join

from audits.admin import ReadOnlyAdmin
from registry.models import Dataset, Deployment, ModelVersion
from registry.models import RegisteredModel as Model


@admin.register(Model)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "risk_tier", "business_owner", "created_at"]
    list_filter = ["risk_tier"]
    search_fields = ["name"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "version", "stage", "review_required", "framework", "violations", "created_at"]
    list_filter = ["stage", "review_required"]
    search_fields = ["model__name", "version"]
    readonly_fields = ["deployment_violations"]

    def get_queryset(self, request):
        violations = Count("deployments", filter=Q(deployments__violation=True))
        return super().get_queryset(request).annotate(violation_count=violations)

    @admin.display(description="deployment violations", ordering="violation_count")
    def violations(self, obj) -> int:
        return obj.violation_count

    @admin.display(description="deployments without an approval in force")
    def deployment_violations(self, obj) -> str:
        rows = obj.deployments.filter(violation=True)
        if not rows:
            return "none"
        items = format_html_join(
            "",
            "<li>{} in {} ({}, {}%): {}</li>",
            (
                (
                    d.created_at.isoformat(timespec="seconds"),
                    d.environment,
                    d.strategy,
                    d.traffic_percent,
                    "; ".join(d.violation_reasons),
                )
                for d in rows
            ),
        )
        return format_html("<ul>{}</ul>", items)


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "model", "format", "size", "sha256", "created_at"]
    list_filter = ["kind"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "environment",
        "serving_platform",
        "strategy",
        "traffic_percent",
        "violation",
        "created_at",
    ]
    list_filter = ["violation", "approval_stage"]

"""The registry in the admin: models, versions, aliases, data sets and deployments, read-only; a superuser
moves a model to another team and keeps the keys and certificate roots each team trusts to sign its models
(each change audited)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from audits.admin import ReadOnlyAdmin, person_field
from core.errors import DomainError
from core.permissions import reads_everything
from core.teams import teams
from registry.models import Dataset, Deployment, ModelAlias, ModelVersion, TrustedSigner
from registry.models import RegisteredModel as Model
from registry.selectors import datasets_readable, risk_tier_origin
from registry.signatures import trusted_signer_add, trusted_signer_revoke, trusted_signer_validate
from registry.teams import model_team_change


@admin.register(Model)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "team", "risk_tier", "business_owner", "created_at"]
    list_filter = ["risk_tier", "team"]
    search_fields = ["name"]
    fields = ["name", "team", "risk_tier", "business_owner", "registrant", "description", "created_at"]
    registrant = person_field("owner", "registered by")

    def has_change_permission(self, request, obj=None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)  # the team, and nothing else

    def get_readonly_fields(self, request, obj=None):
        return [name for name in self.fields if name != "team"]

    def save_model(self, request, obj, form, change):
        if change and "team" in form.changed_data:
            model_team_change(model=obj, team=form.cleaned_data["team"], user=request.user)


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "version", "stage", "review_required", "framework", "violations", "created_at"]
    list_filter = ["stage", "review_required"]
    search_fields = ["model__name", "version"]
    readonly_fields = ["risk_tier", "submitter", "deployment_violations", "deployment_health"]
    submitter = person_field("submitted_by", "submitted by")

    def get_fields(self, request, obj=None):
        # The submitter by name, never as a link to the account's page, which only administrators may open.
        fields = [name for name in super().get_fields(request, obj) if name != "submitter"]
        return [("submitter" if name == "submitted_by" else name) for name in fields]

    @admin.display(description="risk tier")
    def risk_tier(self, obj) -> str:
        """The tier whose policy governs the version, and where it came from when nobody gave it."""
        tier, origin = obj.model.risk_tier, risk_tier_origin(obj.model)
        default = settings.MLFLOW_API_DEFAULT_RISK_TIER
        if origin:
            return (
                f"{tier}: taken from {origin} when the model was created through MLflow's client without a "
                f"risk_tier tag (the setting is {default} now)"
            )
        return f"{tier}: given when the model was registered (MLflow creations without a risk_tier tag take {default})"

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

    @admin.display(description="deployments and their health")
    def deployment_health(self, obj) -> str:
        rows = obj.deployments.annotate(
            windows=Count("health_reports"), breaches=Count("health_reports", filter=Q(health_reports__breached=True))
        )
        if not rows:
            return "none reported"
        items = format_html_join(
            "",
            '<li><a href="{}">{} in {}</a> ({}, {}%): {} health report(s), {} breaching; {}</li>',
            (
                (
                    reverse("admin:registry_deployment_change", args=[d.pk]),
                    d.created_at.isoformat(timespec="seconds"),
                    d.environment,
                    d.strategy,
                    d.traffic_percent,
                    d.windows,
                    d.breaches,
                    _response(d),
                )
                for d in rows
            ),
        )
        return format_html("<ul>{}</ul>", items)


def _response(deployment) -> str:
    acted = deployment.health_reports.exclude(response="").first()
    return acted.get_response_display() if acted else "no rollback response"


@admin.register(ModelAlias)
class ModelAliasAdmin(ReadOnlyAdmin):
    """The names MLflow clients resolve (`models:/<name>@<alias>`), for those who read everything; set and
    deleted through the MLflow API, each change an audit event."""

    list_display = ["model", "alias", "version", "stage", "updated_at"]
    list_filter = ["version__stage"]
    search_fields = ["model__name", "alias"]
    list_select_related = ["model", "version__model"]

    def has_module_permission(self, request) -> bool:
        return reads_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return reads_everything(request.user)

    @admin.display(description="stage of the version", ordering="version__stage")
    def stage(self, obj) -> str:
        return obj.version.stage


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "model", "format", "size", "sha256", "created_at"]
    list_filter = ["kind"]

    def get_queryset(self, request):
        return datasets_readable(request.user)


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = [
        "version",
        "environment",
        "serving_platform",
        "strategy",
        "traffic_percent",
        "violation",
        "rollback",
        "created_at",
    ]
    list_filter = ["violation", "approval_stage", "strategy"]
    fields = [
        "version",
        "environment",
        "serving_platform",
        "strategy",
        "traffic_percent",
        "rollback_threshold",
        "approval_stage",
        "violation",
        "violation_reasons",
        "reporter",
        "created_at",
        "health",
    ]
    readonly_fields = ["health", "reporter"]
    reporter = person_field("reported_by", "reported by")

    @admin.display(description="rollback threshold breach")
    def rollback(self, obj) -> str:
        acted = obj.health_reports.exclude(response="").first()
        return acted.get_response_display() if acted else "-"

    @admin.display(description="health reports (newest first)")
    def health(self, obj) -> str:
        rows = obj.health_reports.all()[:HEALTH_ROWS]
        if not rows:
            return "none reported"
        items = format_html_join("", "<tr>{}</tr>", ((_health_cells(r),) for r in rows))
        return format_html("<table>{}{}</table>", HEALTH_HEAD, items)


HEALTH_ROWS = 200
HEALTH_HEAD = format_html(
    "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
    *("window", "requests", "errors", "p99 ms", "verdict", "response"),
)


def _health_cells(report) -> str:
    verdict = (report.verdict or {}).get("reason", "no rollback threshold declared")
    return format_html(
        "<td>{} to {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        report.window_start.isoformat(timespec="seconds"),
        report.window_end.isoformat(timespec="seconds"),
        report.requests,
        report.errors,
        "-" if report.latency_p99_ms is None else report.latency_p99_ms,
        verdict,
        report.get_response_display() if report.response else "-",
    )


class TrustedSignerForm(forms.ModelForm):
    class Meta:
        model = TrustedSigner
        fields = ["team", "kind", "name", "pem"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams()
        self.fields["pem"].help_text = "An elliptic-curve public key (kind key) or a CA certificate (kind root), PEM."

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                trusted_signer_validate(team=data["team"], kind=data["kind"], name=data["name"], pem=data["pem"])
            except DomainError as exc:
                raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(TrustedSigner)
class TrustedSignerAdmin(ReadOnlyAdmin):
    """Superusers add a trusted key or root, or revoke one; rows never change otherwise (each step audited)."""

    form = TrustedSignerForm
    list_display = ["name", "team", "kind", "fingerprint", "added_at", "revoked_at"]
    list_filter = ["team", "kind"]
    actions = ["revoke"]

    def has_module_permission(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def get_fields(self, request, obj=None):
        return (
            ["team", "kind", "name", "pem"]
            if obj is None
            else ["team", "kind", "name", "pem", "fingerprint", "added_by", "added_at", "revoked_at"]
        )

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = trusted_signer_add(
            user=request.user, team=data["team"], kind=data["kind"], name=data["name"], pem=data["pem"]
        )
        obj.pk = created.pk

    @admin.action(description="Revoke the trust in the selected signers")
    def revoke(self, request, queryset):
        for signer in queryset.filter(revoked_at__isnull=True):
            try:
                trusted_signer_revoke(user=request.user, signer=signer)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)

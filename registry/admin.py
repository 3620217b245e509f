"""The compliance officer's view: evidence and requests, decided through the same services as the API."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from audits.admin import ReadOnlyAdmin
from governance.errors import DomainError
from registry import approvals
from registry.models import ApprovalDecision, ApprovalPolicy, ApprovalRequest, Dataset, Deployment, ModelVersion
from registry.models import RegisteredModel as Model
from registry.selectors import approval_request_state


@admin.register(Model)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "risk_tier", "business_owner", "created_at"]
    list_filter = ["risk_tier"]
    search_fields = ["name"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "version", "stage", "review_required", "framework", "created_at"]
    list_filter = ["stage", "review_required"]
    search_fields = ["model__name", "version"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "model", "format", "size", "sha256", "created_at"]
    list_filter = ["kind"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ["version", "environment", "strategy", "traffic_percent", "created_at"]


class DecisionInline(admin.TabularInline):
    model = ApprovalDecision
    fields = ["decided_by", "verdict", "artifact_sha256", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "version", "target_stage", "status", "created_at", "expires_at"]
    list_filter = ["status", "target_stage"]
    readonly_fields = [
        "version",
        "target_stage",
        "status",
        "requested_by",
        "artifact_sha256",
        "policy",
        "created_at",
        "decided_at",
        "expires_at",
        "progress",
    ]
    fields = readonly_fields
    inlines = [DecisionInline]
    actions = ["approve", "reject"]

    @admin.display(description="evidence and decisions")
    def progress(self, obj) -> str:
        state = approval_request_state(obj)
        lines = [f"{e['requirement']}: {e['status']} {e['reason']}" for e in state["evidence"]]
        return f"{state['approvals']} of {state['approvals_required']} approvals. " + "; ".join(lines)

    def _decide(self, request, queryset, verdict: str) -> None:
        for target in queryset:
            try:
                approvals.approval_decide(request=target, user=request.user, verdict=verdict)
            except DomainError as exc:
                reasons = "; ".join(exc.fields.get("reasons", []))
                self.message_user(request, f"#{target.pk}: {exc.message} {reasons}", messages.ERROR)
            else:
                self.message_user(request, f"#{target.pk}: {verdict} recorded.", messages.SUCCESS)

    @admin.action(description="Approve the selected requests")
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description="Reject the selected requests")
    def reject(self, request, queryset):
        self._decide(request, queryset, "reject")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.groups.filter(name="compliance_officer").exists():
            actions.pop("approve", None)
            actions.pop("reject", None)
        return actions


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = ["risk_tier", "approvals_required", "officer_approvals_required", "validity_days"]
    readonly_fields = ["risk_tier", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            raise PermissionDenied
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in approvals.POLICY_FIELDS}
        try:
            approvals.approval_policy_update(policy=obj, user=request.user, changes=changes)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

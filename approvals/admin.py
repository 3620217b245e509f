"""The compliance officer's view of approvals: requests, decisions, policies and waivers, decided through
the same services as the API."""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from approvals import services as approvals
from approvals import waivers
from approvals.attestation_apis import attestation_response
from approvals.review_page import _admin_url, _waiver_expiry, review_context, trigger_links
from approvals.selectors import approval_request_state
from audits.admin import ReadOnlyAdmin, person_field
from audits.models import AuditEvent
from audits.selectors import person_shown, subject_of
from core import roles
from core.errors import DomainError
from core.permissions import reads_everything
from registry.models import ApprovalAttestation, ApprovalDecision, ApprovalPolicy, ApprovalRequest, EvidenceWaiver
from registry.selectors import approval_valid, waiver_discounted
from reports import services as attestations


class DecisionInline(admin.TabularInline):
    model = ApprovalDecision
    fields = ["decider", "verdict", "artifact_sha256", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    decider = person_field("decided_by", "decided by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    change_form_template = "approvals/review/change_form.html"
    list_display = ["id", "version", "target_stage", "status", "requested", "opened_by", "created_at", "expires_at"]
    list_filter = ["status", "target_stage"]
    list_select_related = ["version__model", "requested_by"]
    readonly_fields = [
        "version",
        "target_stage",
        "status",
        "requester",
        "opened_by",
        "artifact_sha256",
        "policy",
        "created_at",
        "decided_at",
        "expires_at",
        "progress",
        "in_force",
        "signed_attestation",
    ]
    # The policy reads in words at the top of the page; its exact frozen JSON stays one click away.
    fieldsets = [
        (None, {"fields": [name for name in readonly_fields if name != "policy"]}),
        ("Frozen policy (JSON, as recorded)", {"fields": ["policy"], "classes": ["collapse"]}),
    ]
    inlines = [DecisionInline]
    actions = ["approve", "reject"]

    requested = person_field("requested_by", "requested by", nobody="the service (system)")

    @admin.display(description="requested by")
    def requester(self, obj) -> str:
        """The person by name (for readers entitled to names), linked to what they did in the trail rather than
        to their account, which only administrators may open; a request the service opened says so."""
        if obj.requested_by_id is None:
            return "the service (system)"
        subject = subject_of(obj.requested_by)
        trail = f"{_admin_url(AuditEvent, 'changelist')}?{urlencode({'actor': subject})}"
        return format_html('{} <a href="{}">their events in the trail</a>', person_shown(subject), trail)

    @admin.display(description="evidence and decisions")
    def progress(self, obj) -> str:
        state = approval_request_state(obj)
        lines = [f"{e['requirement']}: {e['status']} {e['reason']}" for e in state["evidence"]]
        return f"{state['approvals']} of {state['approvals_required']} approvals. " + "; ".join(lines)

    @admin.display(description="opened by")
    def opened_by(self, obj) -> str:
        """A person's request names them; one the system opened names its trigger and links it."""
        if obj.requested_by_id:
            return f"user:{obj.requested_by_id}"
        links = format_html_join(", ", '<a href="{}">{}</a>', ((url, text) for text, url in trigger_links(obj)))
        return format_html("system: {}{}", obj.trigger, format_html(" ({})", links) if links else "")

    @admin.display(description="approval in force")
    def in_force(self, obj) -> str:
        """The gate's own answer for the approved bytes, so the page never disagrees with deployment."""
        validity = approval_valid(obj.version, obj.target_stage, obj.artifact_sha256)
        if validity and validity.request == obj.pk:
            return f"yes: this request's approval is in force for {obj.target_stage} until {validity.expires_at}"
        if validity:
            return f"no: request #{validity.request} is the approval in force for {obj.target_stage}"
        return f"no: {'; '.join(validity.reasons)}"

    @admin.display(description="signed attestation")
    def signed_attestation(self, obj) -> str:
        attestation = ApprovalAttestation.objects.filter(request=obj).only("sha256").first()
        if attestation is None and obj.status == ApprovalRequest.Status.PENDING:
            return "none yet: one is signed when the request is approved"
        if attestation is None:
            return "none: only an approval of an artifact is attested"
        link = _admin_url(ApprovalRequest, "attestation", obj.pk)
        return format_html('<a href="{}" download>in-toto attestation (DSSE)</a> sha256 {}', link, attestation.sha256)

    def attestation_view(self, request, object_id):
        """The envelope's exact bytes, as the API serves them."""
        target = get_object_or_404(self.get_queryset(request), pk=unquote(object_id))
        if not self.has_view_permission(request, target):
            raise PermissionDenied
        return attestation_response(get_object_or_404(ApprovalAttestation, request=target))

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

    def get_urls(self):
        decide = self.admin_site.admin_view(require_POST(self.decide_view))
        attest = self.admin_site.admin_view(require_POST(self.attest_view))
        waive = self.admin_site.admin_view(require_POST(self.waive_view))
        run = self.admin_site.admin_view(require_POST(self.run_evidence_view))
        attestation = self.admin_site.admin_view(self.attestation_view)
        return [
            path("<path:object_id>/attestation/", attestation, name="registry_approvalrequest_attestation"),
            path("<path:object_id>/waive/", waive, name="registry_approvalrequest_waive"),
            path("<path:object_id>/run-evidence/", run, name="registry_approvalrequest_run_evidence"),
            path("<path:object_id>/decide/", decide, name="registry_approvalrequest_decide"),
            path("<path:object_id>/attest/", attest, name="registry_approvalrequest_attest"),
            *super().get_urls(),
        ]

    def attest_view(self, request, object_id):
        """An officer answers an open checklist item of the request's version, picked from the page's list,
        through the same service (and rules) as the attestations API."""
        if not roles.has_role(request.user, roles.COMPLIANCE_OFFICER):
            raise PermissionDenied
        target = get_object_or_404(ApprovalRequest.objects.select_related("version__model"), pk=unquote(object_id))
        back = HttpResponseRedirect(f"{_admin_url(ApprovalRequest, 'change', target.pk)}#review-checklists")
        framework, _, item_id = request.POST.get("item", "").partition(":")
        if not item_id:
            self.message_user(request, "Pick the checklist item you attest.", messages.ERROR)
            return back
        try:
            attestation = attestations.attestation_answer(
                version=target.version,
                framework=framework,
                item_id=item_id,
                answer=request.POST.get("answer", ""),
                statement=request.POST.get("statement", "").strip(),
                user=request.user,
            )
        except DomainError as exc:
            self.message_user(request, f"{item_id} was not attested: {exc.message}", messages.ERROR)
        else:
            self.message_user(
                request,
                f"{attestation.item_id} ({attestation.framework.upper()}) attested: {attestation.answer}.",
                messages.SUCCESS,
            )
        return back

    def waive_view(self, request, object_id):
        """An officer waives a requirement of the request's version in place, through the waiver service."""
        if not roles.has_role(request.user, roles.COMPLIANCE_OFFICER):
            raise PermissionDenied
        target = get_object_or_404(ApprovalRequest.objects.select_related("version__model"), pk=unquote(object_id))
        back = HttpResponseRedirect(_admin_url(ApprovalRequest, "change", target.pk))
        requirement = request.POST.get("requirement", "")
        try:
            expires_at = _waiver_expiry(request.POST.get("expires_on", ""), target.version)
            waiver = waivers.evidence_waiver_grant(
                version=target.version,
                requirement=requirement,
                justification=request.POST.get("justification", ""),
                user=request.user,
                expires_at=expires_at,
            )
        except DomainError as exc:
            detail = "; ".join(problem for problems in exc.fields.values() for problem in problems)
            refused = f"The waiver of {requirement} was refused: {exc.message} {detail}"
            self.message_user(request, refused, messages.ERROR)
        else:
            until = waiver.expires_at.date().isoformat()
            self.message_user(request, f"Waiver {waiver.pk}: {requirement} is waived until {until}.", messages.SUCCESS)
        return back

    def run_evidence_view(self, request, object_id):
        """Queues the evidence the request's policy needs and nobody produced, as the evidence API would."""
        target = get_object_or_404(ApprovalRequest.objects.select_related("version__model"), pk=unquote(object_id))
        if not self.has_view_permission(request, target):
            raise PermissionDenied
        back = HttpResponseRedirect(f"{_admin_url(ApprovalRequest, 'change', target.pk)}#review-status")
        try:
            queued = approvals.approval_evidence_run(request=target, user=request.user)
        except DomainError as exc:
            self.message_user(request, f"Nothing was queued: {exc.message}", messages.ERROR)
        else:
            listed = ", ".join(
                f"{q['requirement']} ({'job ' + str(q['job']) if 'job' in q else 'report ' + str(q['report'])})"
                for q in queued
            )
            self.message_user(request, f"Queued: {listed}. This page shows their progress.", messages.SUCCESS)
        return back

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_view_permission(request, obj):
            review = {**review_context(obj, request.user), "attest_selected": request.GET.get("attest", "")}
            extra_context = {"review": review, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)

    def decide_view(self, request, object_id):
        """The review page's decision: a verdict and a written comment, through the same service as the API."""
        if not roles.has_role(request.user, roles.COMPLIANCE_OFFICER):
            raise PermissionDenied
        target = get_object_or_404(ApprovalRequest, pk=unquote(object_id))
        back = HttpResponseRedirect(_admin_url(ApprovalRequest, "change", target.pk))
        verdict, comment = request.POST.get("verdict", ""), request.POST.get("comment", "").strip()
        if verdict not in ApprovalDecision.Verdict.values:
            self.message_user(request, "Choose approve or reject.", messages.ERROR)
            return back
        if not comment:
            self.message_user(request, "A comment is required: say why you decide as you do.", messages.ERROR)
            return back
        try:
            approvals.approval_decide(request=target, user=request.user, verdict=verdict, comment=comment)
        except DomainError as exc:
            reasons = exc.fields.get("reasons") or []
            blocking = f" Blocking: {'; '.join(reasons)}" if reasons else ""
            self.message_user(request, f"{exc.message}{blocking}", messages.ERROR)
        else:
            target.refresh_from_db()
            self.message_user(
                request,
                f"Your {verdict} is recorded on request #{target.pk}; it is now {target.status}.",
                messages.SUCCESS,
            )
        return back


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


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time boxes with a <label> each, so a screen reader names both."""

    template_name = "approvals/widgets/split_datetime.html"


class WaiverForm(forms.ModelForm):
    justification = forms.CharField(widget=forms.Textarea, min_length=waivers.MIN_JUSTIFICATION)
    user = None  # who grants: set by EvidenceWaiverAdmin.get_form

    class Meta:
        model = EvidenceWaiver
        fields = ["version", "requirement", "expires_at"]
        widgets = {"expires_at": LabelledSplitDateTime}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("version") and cleaned.get("requirement"):
            try:
                waivers.evidence_waiver_check(
                    version=cleaned["version"], requirement=cleaned["requirement"], user=self.user
                )
            except DomainError as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return cleaned


def _decides_waivers(user) -> bool:
    """Officers waive and revoke; a superuser without the role administers and does not decide."""
    return roles.has_role(user, roles.COMPLIANCE_OFFICER)


@admin.register(EvidenceWaiver)
class EvidenceWaiverAdmin(ReadOnlyAdmin):
    """Officers grant a waiver with a written justification and revoke it; both go through the service.
    Whoever reads everything (auditors too) sees the list; the role decides, not a model permission."""

    list_display = [
        "id",
        "version",
        "requirement",
        "state",
        "not_counted",
        "grantor",
        "created_at",
        "expires_at",
        "revoked_at",
    ]
    grantor = person_field("granted_by", "granted by")
    revoker = person_field("revoked_by", "revoked by")
    list_filter = ["requirement"]
    search_fields = ["version__model__name"]
    list_select_related = ["version__model", "granted_by"]
    actions = ["revoke"]

    def has_module_permission(self, request) -> bool:
        return reads_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return reads_everything(request.user)

    def has_add_permission(self, request) -> bool:
        return _decides_waivers(request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not _decides_waivers(request.user):
            actions.pop("revoke", None)
        return actions

    @admin.display(description="state")
    def state(self, obj) -> str:
        return obj.state()

    @admin.display(description="does not count because")
    def not_counted(self, obj) -> str:
        return waiver_discounted(obj) or "-"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = type("WaiverFormFor", (WaiverForm,), {"user": request.user})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["version", "requirement", "justification", "expires_at"]
        people = {"granted_by": "grantor", "revoked_by": "revoker"}  # named, never linked to the account page
        return [people.get(name, name) for name in super().get_fields(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*super().get_readonly_fields(request, obj), "grantor", "revoker"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            waiver = waivers.evidence_waiver_grant(
                version=data["version"],
                requirement=data["requirement"],
                justification=data["justification"],
                user=request.user,
                expires_at=data.get("expires_at"),
            )
        except DomainError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.pk = waiver.pk

    @admin.action(description="Revoke the selected waivers")
    def revoke(self, request, queryset):
        for waiver in queryset:
            try:
                waivers.evidence_waiver_revoke(waiver=waiver, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"#{waiver.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"#{waiver.pk}: revoked.", messages.SUCCESS)

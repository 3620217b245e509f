"""Attestations in the admin: officers add an answer through the same service as the API; the history
is read-only (an answer is never edited or deleted, only superseded or withdrawn)."""

from django import forms
from django.contrib import admin, messages

from audits.admin import person_field
from core import roles
from core.errors import DomainError
from core.permissions import reads_everything
from registry.models import ModelVersion
from reports import services
from reports.frameworks import FRAMEWORK_IDS, framework_load
from reports.models import Attestation, Report
from reports.report_admin import ReportAdmin
from reports.selectors import attestation_statement, attestations_with_statements, statement_shown


def human_item_choices() -> list:
    """Every item only a person decides, grouped by framework, for a pick-list (never a typed item id)."""
    return [
        (
            framework.upper(),
            [
                (item["id"], f"{item['id']}: {item['requirement'][:110]}")
                for item in framework_load(framework)["items"]
                if item["decided_by"] == "human"
            ],
        )
        for framework in FRAMEWORK_IDS
    ]


class AttestationAnswerForm(forms.ModelForm):
    framework = forms.ChoiceField(choices=[(fw, fw) for fw in FRAMEWORK_IDS])
    item_id = forms.ChoiceField(
        label="Item",
        choices=lambda: human_item_choices(),
        help_text="Only items a person decides are listed; the others are decided from the evidence.",
    )
    # Not a column: the service keeps it as the officer's personal record, erasable.
    statement = forms.CharField(widget=forms.Textarea, max_length=services.STATEMENT_MAX)
    attachment = forms.FileField(required=False, help_text=f"At most {services.ATTACHMENT_MAX_BYTES} bytes")

    class Meta:
        model = Attestation
        fields = ["version", "framework", "item_id", "answer", "statement", "expires_at"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["version"].queryset = ModelVersion.objects.select_related("model")

    def answer_kwargs(self) -> dict:
        data = self.cleaned_data
        fields = ("version", "framework", "item_id", "answer", "statement", "expires_at")
        attachments = [data["attachment"]] if data.get("attachment") else []
        return {**{name: data.get(name) for name in fields}, "attachments": attachments, "user": self.user}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.attestation_validate(**self.answer_kwargs())
        except DomainError as exc:
            for field, problems in exc.fields.items() or {None: [exc.message]}.items():
                self.add_error(field if field in self.fields else None, problems)
        return cleaned

    def _post_clean(self):
        """The service checks and writes the row; the model's own checks would refuse a superseding answer."""


@admin.register(Attestation)
class AttestationAdmin(admin.ModelAdmin):
    list_display = ["item_id", "framework", "version", "answer", "answerer", "answered_at", "expires_at", "current"]
    list_filter = ["framework", "answer"]
    search_fields = ["item_id", "version__model__name", "version__version"]
    readonly_fields = [
        "version",
        "framework",
        "item_id",
        "checklist_version",
        "answer",
        "statement",
        "statement_digest",
        "attachments",
        "answerer",
        "answered_at",
        "expires_at",
        "superseded_at",
    ]
    actions = ["withdraw"]
    answerer = person_field("answered_by", "answered by")

    def get_queryset(self, request):
        return attestations_with_statements(super().get_queryset(request))

    @admin.display(description="statement")
    def statement(self, obj) -> str:
        return statement_shown(attestation_statement(obj))

    @admin.display(boolean=True, description="current")
    def current(self, obj) -> bool:
        return obj.superseded_at is None

    def _is_officer(self, request) -> bool:
        return roles.has_role(request.user, roles.COMPLIANCE_OFFICER)

    def has_module_permission(self, request) -> bool:
        return reads_everything(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self._is_officer(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj else [*AttestationAnswerForm.Meta.fields, "attachment"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class BoundForm(AttestationAnswerForm):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=user, **kw)

        return BoundForm

    def save_model(self, request, obj, form, change):
        """The row is written by the service, with its audit event; the admin only points at it."""
        created = services.attestation_answer(**form.answer_kwargs())
        for field in Attestation._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._is_officer(request):
            actions.pop("withdraw", None)
        return actions

    @admin.action(description="Withdraw the selected answers (the items become open again)")
    def withdraw(self, request, queryset):
        for attestation in queryset:
            try:
                services.attestation_withdraw(attestation=attestation, user=request.user)
            except DomainError as exc:
                self.message_user(request, f"#{attestation.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"#{attestation.pk}: withdrawn.", messages.SUCCESS)


admin.site.register(Report, ReportAdmin)

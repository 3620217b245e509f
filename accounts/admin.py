from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.response import TemplateResponse

from accounts.models import ApiToken, PersonalToken, ServiceAccount
from accounts.selectors import is_service_account, service_account_roles_check
from accounts.services import (
    personal_token_issue,
    personal_token_revoke,
    personal_tokens_revoke_all,
    service_account_revoke,
)
from audits.services import actor_for, audit_event_append, object_ref
from core.errors import DomainError

# Changes to these fields are recorded by name only: their values may be personal data.
_M2M = {"groups": "name", "permissions": "codename", "user_permissions": "codename"}


class AuditedAdminMixin:
    """People change users and roles in the admin; every such change lands in the audit trail."""

    audit_noun = ""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        request._audit_fields = sorted(f for f in form.changed_data if f not in _M2M)
        if not change:
            self._audit(request, obj, "created", {"fields": request._audit_fields})

    def save_related(self, request, form, formsets, change):
        before = self._memberships(form.instance)
        super().save_related(request, form, formsets, change)
        diff = _diff(before, self._memberships(form.instance))
        fields = getattr(request, "_audit_fields", [])
        if change and (fields or diff):
            self._audit(request, form.instance, "changed", {"fields": fields, **diff})

    def delete_model(self, request, obj):
        self._audit(request, obj, "deleted", {})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "deleted", {})
        super().delete_queryset(request, queryset)

    def _memberships(self, obj) -> dict[str, set[str]]:
        if obj.pk is None:
            return {}
        return {
            name: set(getattr(obj, name).values_list(attr, flat=True))
            for name, attr in _M2M.items()
            if hasattr(obj, name)
        }

    def _audit(self, request, obj, verb: str, data: dict) -> None:
        audit_event_append(
            actor=actor_for(request.user), action=f"{self.audit_noun}.{verb}", object_ref=object_ref(obj), data=data
        )


def _diff(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    out = {}
    for name in after:
        added, removed = after[name] - before.get(name, set()), before.get(name, set()) - after[name]
        if added:
            out[f"{name}_added"] = sorted(added)
        if removed:
            out[f"{name}_removed"] = sorted(removed)
    return out


admin.site.unregister(get_user_model())
admin.site.unregister(Group)


class UserForm(UserChangeForm):
    """Refuses, on the form, any role a service account may not hold (the database refuses it too)."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and is_service_account(self.instance):
            names = [group.name for group in cleaned.get("groups") or []]
            try:
                service_account_roles_check(self.instance, names, superuser=bool(cleaned.get("is_superuser")))
            except DomainError as exc:
                raise ValidationError({"groups": exc.message}) from exc
        return cleaned


@admin.register(get_user_model())
class AuditedUserAdmin(AuditedAdminMixin, UserAdmin):
    audit_noun = "user"
    form = UserForm

    def save_model(self, request, obj, form, change):
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Each token's revocation is an event; the database trigger would revoke them silently.
            personal_tokens_revoke_all(owner=obj, actor=actor_for(request.user), reason="owner_deactivated")
        super().save_model(request, obj, form, change)

    @transaction.atomic
    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            self._audit(request, user, "password_changed", {})
        return response


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdminMixin, GroupAdmin):
    audit_noun = "role"


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    """Created with `manage.py create_service_account` or the API, where the token can be shown once."""

    list_display = ["name", "description", "created_at", "revoked_at"]
    readonly_fields = ["user", "name", "created_at", "revoked_at"]
    search_fields = ["name"]
    inlines = [ApiTokenInline]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected service accounts and their tokens")
    def revoke(self, request, queryset):
        for account in queryset:
            service_account_revoke(account=account, actor=actor_for(request.user))
        self.message_user(request, f"Revoked {queryset.count()} service account(s).", messages.SUCCESS)


def _is_person(request) -> bool:
    """Signed in to the admin as a person (never a service account); asked many times per page, so kept."""
    if not hasattr(request, "_accounts_is_person"):
        user = request.user
        request._accounts_is_person = bool(user.is_active and user.is_staff and not is_service_account(user))
    return request._accounts_is_person


class PersonalTokenIssueForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. 'quarterly trail export'.")
    expires_in_days = forms.IntegerField(min_value=1, initial=30, help_text="Required; the token stops then.")
    access = forms.ChoiceField(choices=PersonalToken.Access.choices, initial=PersonalToken.Access.READ)


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    """My API tokens: each person sees, issues and revokes their own; superusers see and revoke everyone's.
    A token is shown once, on the page that answers the issue form, and never stored."""

    list_display = ["name", "prefix", "access", "state", "created_at", "expires_at", "last_used_at", "revoked_at"]
    fields = ["name", "owner", "prefix", "access", "state", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        tokens = super().get_queryset(request).select_related("user")
        return tokens if request.user.is_superuser else tokens.filter(user_id=request.user.pk)

    def get_list_display(self, request):
        return ["owner", *self.list_display] if request.user.is_superuser else self.list_display

    @admin.display(description="owner")
    def owner(self, obj) -> str:
        return f"user:{obj.user_id} ({obj.user.get_username()})"

    @admin.display(description="state")
    def state(self, obj) -> str:
        return obj.state()

    def has_module_permission(self, request) -> bool:
        return _is_person(request)

    def has_view_permission(self, request, obj=None) -> bool:
        mine = obj is None or obj.user_id == request.user.pk or request.user.is_superuser
        return _is_person(request) and mine

    def has_add_permission(self, request) -> bool:
        return _is_person(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # nothing about a token changes but its revocation, which is an action

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # kept as the record of what was issued

    def changelist_view(self, request, extra_context=None):
        title = "All personal API tokens" if request.user.is_superuser else "My API tokens"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PersonalTokenIssueForm(request.POST or None)
        row = token = None
        if request.method == "POST" and form.is_valid():
            try:
                row, token = personal_token_issue(user=request.user, **form.cleaned_data)
            except DomainError as exc:
                for field, errors in (exc.fields or {None: [exc.message]}).items():
                    form.add_error(field if field in form.fields else None, errors)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Issue a personal API token",
            "form": form,
            "row": row,
            "token": token,
            "max_days": settings.PERSONAL_TOKEN_MAX_DAYS,
        }
        response = TemplateResponse(request, "admin/accounts/personaltoken/issue.html", context)
        if token:
            response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            personal_token_revoke(token=token, user=request.user)
        self.message_user(request, f"Revoked {queryset.count()} token(s).", messages.SUCCESS)

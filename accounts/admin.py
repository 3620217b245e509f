from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import ApiToken, ServiceAccount
from accounts.selectors import is_service_account, service_account_roles_check
from accounts.services import service_account_revoke
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

from django.contrib import admin, messages

from governance.models import ApiToken, ServiceAccount
from governance.services import service_account_revoke


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
            service_account_revoke(account=account)
        self.message_user(request, f"Revoked {queryset.count()} service account(s).", messages.SUCCESS)

"""Read-only views of the trail: the admin offers no way to add, change or delete an event."""

import json

from django.contrib import admin
from django.utils.html import format_html

from audits.models import AuditEvent, Checkpoint


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "ts", "actor", "action", "object_ref", "short_hash"]
    list_filter = ["action"]
    search_fields = ["=actor", "=object_ref", "action"]
    date_hierarchy = "ts"
    fields = ["seq", "hash", "prev", "record"]
    readonly_fields = fields

    @admin.display(description="hash")
    def short_hash(self, obj) -> str:
        return obj.hash[:16] + "…"

    @admin.display(description="record (the hashed bytes)")
    def record(self, obj) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(bytes(obj.body)), indent=2, ensure_ascii=False))


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["size", "head", "ts", "key_fingerprint"]
    fields = ["size", "head", "ts", "signature", "key_fingerprint"]
    readonly_fields = fields

"""Read-only views of the trail: the admin offers no way to add, change or delete an event. Readers of
everything also verify the trail here, download its export, and see people's names beside their pseudonyms
(the stored events keep the pseudonyms)."""

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from audits.models import AuditEvent, Checkpoint
from audits.selectors import actor_names, audit_trail_health, audit_trail_verify, event_record, person_shown
from core.permissions import reads_everything


class ReadOnlyAdmin(admin.ModelAdmin):
    """The trail's pages open with a banner whenever the trail does not verify (audit_trail_health)."""

    def changelist_view(self, request, extra_context=None):
        _warn_when_broken(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        _warn_when_broken(request)
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def person_field(field: str, description: str, nobody: str = "-"):
    """An admin column or read-only field that shows the person in `field` (a user row or a pseudonym) by name to
    readers entitled to names (audits.selectors.person_shown), never as a link to the user's page, which only
    administrators may open."""

    @admin.display(description=description)
    def shown(self, obj) -> str:
        who = getattr(obj, field)
        return person_shown(who) if who is not None else nobody

    return shown


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    change_list_template = "admin/audits/auditevent/change_list.html"
    list_display = ["seq", "ts", "actor_named", "action", "object_ref", "short_hash"]
    list_filter = ["action"]
    search_fields = ["=actor", "=object_ref", "action"]
    date_hierarchy = "ts"
    fields = ["seq", "actor_named", "hash", "prev", "record"]
    readonly_fields = fields

    def get_urls(self):
        verify = self.admin_site.admin_view(require_POST(self.verify_view))
        return [path("verify/", verify, name="audits_auditevent_verify"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        context = {"reads_everything": reads_everything(request.user), **(extra_context or {})}
        return super().changelist_view(request, context)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # The page's rows are fetched here and kept, so the names are looked up once for all of them.
        events = changelist.result_list
        _name_actors(request, events, [event_record(event)["actor"] for event in events])
        return changelist

    def get_object(self, request, object_id, from_field=None):
        event = super().get_object(request, object_id, from_field)
        if event is not None:
            _name_actors(request, [event], [event_record(event)["actor"]])
        return event

    def verify_view(self, request):
        """Runs the same verification as the API's and shows its verdict; it records nothing."""
        if not reads_everything(request.user):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Verification of the audit trail",
            "result": audit_trail_verify(),
        }
        return TemplateResponse(request, "admin/audits/auditevent/verify.html", context)

    @admin.display(description="actor")
    def actor_named(self, obj) -> str:
        return getattr(obj, "actor_name", None) or event_record(obj)["actor"]

    @admin.display(description="hash")
    def short_hash(self, obj) -> str:
        return obj.hash[:16] + "…"

    @admin.display(description="record (the hashed bytes)")
    def record(self, obj) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(bytes(obj.body)), indent=2, ensure_ascii=False))


def _warn_when_broken(request) -> None:
    health = audit_trail_health()
    if not health.ok:
        messages.error(request, f"The audit trail does NOT verify: {health.summary}")


def _name_actors(request, events, actors: list[str]) -> None:
    """Names are for readers of everything; everyone else sees the pseudonyms, as the trail holds them."""
    names = actor_names(actors, request.user)
    for event, actor in zip(events, actors, strict=True):
        event.actor_name = names[actor]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["size", "head", "ts", "key_fingerprint"]
    fields = ["size", "head", "ts", "signature", "key_fingerprint"]
    readonly_fields = fields

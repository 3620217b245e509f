"""Editable metadata of models and versions: their description and tags. An edit never touches the artifact,
the stage, or anything an approval was given on, and each one is audited in its transaction."""

import hashlib

from django.db import transaction

from audits.services import actor_for, audit_event_append, object_ref
from core.errors import DomainError
from core.permissions import model_write_check
from registry.models import ModelVersion, RegisteredModel

TAG_KEY_MAX = 250
TAG_VALUE_MAX = 5000
# A tag that is the service's lever, never free metadata (registry.evaluation_data names the version's data).
RESERVED_TAG = "verity.evaluation_dataset"


def _digest(text: str) -> str:
    # Free text may name people: the trail keeps its digest, the row keeps the text.
    return hashlib.sha256(text.encode()).hexdigest()


def tags_check(tags: dict) -> None:
    """Each key 1 to TAG_KEY_MAX characters; each value text of at most TAG_VALUE_MAX, or None (removal)."""
    for key, value in tags.items():
        if not isinstance(key, str) or not key.strip() or len(key) > TAG_KEY_MAX:
            raise DomainError(
                "invalid", f"tags: a key is 1 to {TAG_KEY_MAX} characters.", fields={"tags": ["Bad key."]}
            )
        if key == RESERVED_TAG:
            message = (
                "reserved: it names the version's evaluation data set, through MLflow's create or set-tag "
                'calls, or with PATCH {"evaluation_dataset": <id>} on the version.'
            )
            raise DomainError("invalid", f"tags.{key}: {message}", fields={f"tags.{key}": [message]})
        if value is not None and (not isinstance(value, str) or len(value) > TAG_VALUE_MAX):
            message = f"a value is text of at most {TAG_VALUE_MAX} characters, or null to remove the tag."
            raise DomainError("invalid", f"tags.{key}: {message}", fields={f"tags.{key}": [message]})


def _changes(row, description: str | None, tags: dict | None) -> tuple[list[str], dict]:
    """Applies the edit to the row in memory; returns the fields changed and what the trail records."""
    fields, facts = [], {}
    if description is not None and description != row.description:
        row.description = description
        fields.append("description")
        facts["description_sha256"] = _digest(description)
    if tags:
        tags_check(tags)
        removed = [key for key, value in tags.items() if value is None]
        missing = [key for key in removed if key not in row.tags]
        if missing:
            raise DomainError(
                "not_found",
                f"tags.{missing[0]}: no such tag.",
                fields={f"tags.{missing[0]}": ["No such tag."]},
                status_code=404,
            )
        updated = {key: value for key, value in tags.items() if value is not None and row.tags.get(key) != value}
        if updated or removed:
            row.tags = {**{k: v for k, v in row.tags.items() if k not in removed}, **updated}
            fields.append("tags")
            facts.update(tags_set=updated, tags_removed=sorted(removed))
    return fields, facts


@transaction.atomic
def model_version_metadata_update(
    *, version: ModelVersion, user, description: str | None = None, tags: dict | None = None
) -> ModelVersion:
    """Sets the description and sets (a text value) or removes (None) tags; unnamed tags stay as they are."""
    version = (
        ModelVersion.objects.select_for_update(of=("self",)).select_related("model", "artifact").get(pk=version.pk)
    )
    model_write_check(user, version.model)
    fields, facts = _changes(version, description, tags)
    if fields:
        version.save(update_fields=fields)
        audit_event_append(
            actor=actor_for(user),
            action="model_version.metadata_changed",
            object_ref=object_ref(version),
            data={"model": version.model.name, "version": version.version, **facts},
        )
    return version


@transaction.atomic
def model_metadata_update(
    *, model: RegisteredModel, user, description: str | None = None, tags: dict | None = None
) -> RegisteredModel:
    """As model_version_metadata_update, for the registered model."""
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    model_write_check(user, model)
    fields, facts = _changes(model, description, tags)
    if fields:
        model.save(update_fields=fields)
        audit_event_append(
            actor=actor_for(user),
            action="model.metadata_changed",
            object_ref=object_ref(model),
            data={"model": model.name, **facts},
        )
    return model

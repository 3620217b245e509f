"""Aliases: names pointing at one version of a model (MLflow's registered-model aliases). An alias whose words
name a gated stage is a promotion: it needs the approval that stage needs, and moves the version there."""

import re

from django.db import transaction

from audits.services import actor_for, audit_event_append, object_ref
from core.errors import DomainError
from core.permissions import model_write_check
from registry.models import ModelAlias, ModelVersion, RegisteredModel
from registry.stages import alias_stage, model_version_stage_change, require_approval

# MLflow's own rule: "latest" and v<number> would read as a version in a models:/ URI.
_ALIAS = re.compile(r"[A-Za-z0-9_-]{1,100}")
_RESERVED = re.compile(r"latest|v[0-9]+", re.IGNORECASE)


def _checked(alias: str) -> str:
    if not _ALIAS.fullmatch(alias) or _RESERVED.fullmatch(alias):
        message = "letters, digits, '_' and '-', at most 100; not 'latest' nor v<number>."
        raise DomainError("invalid", f"alias: {message}", fields={"alias": [message]})
    return alias


@transaction.atomic
def model_alias_set(*, model: RegisteredModel, alias: str, version: ModelVersion, user) -> ModelAlias:
    """Points the alias at the version. For an alias of a gated stage the version must hold an approval in
    force for it; it is then moved to that stage, as a stage change would (the previous production version
    archived and kept as the rollback target)."""
    model_write_check(user, model)
    alias = _checked(alias)
    stage = alias_stage(alias)
    if stage:
        require_approval(version, stage)
        version = model_version_stage_change(version=version, stage=stage, user=user)
    previous = ModelAlias.objects.select_for_update().filter(model=model, alias=alias).select_related("version").first()
    if previous and previous.version_id == version.pk:
        return previous
    row, _ = ModelAlias.objects.update_or_create(model=model, alias=alias, defaults={"version": version})
    audit_event_append(
        actor=actor_for(user),
        action="model.alias_set",
        object_ref=object_ref(model),
        data={
            "model": model.name,
            "alias": alias,
            "version": version.version,
            "previous_version": previous.version.version if previous else None,
            "stage": stage,
            "artifact_sha256": version.artifact.sha256 if version.artifact_id else None,
        },
    )
    return row


@transaction.atomic
def model_alias_delete(*, model: RegisteredModel, alias: str, user) -> None:
    """Removes the alias; the version it pointed at keeps its stage."""
    model_write_check(user, model)
    row = ModelAlias.objects.select_for_update().filter(model=model, alias=alias).select_related("version").first()
    if row is None:
        raise DomainError("not_found", f"alias: {model.name} has no alias {alias!r}.", status_code=404)
    version = row.version.version
    row.delete()
    audit_event_append(
        actor=actor_for(user),
        action="model.alias_deleted",
        object_ref=object_ref(model),
        data={"model": model.name, "alias": alias, "version": version},
    )

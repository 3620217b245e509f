"""Stage changes, rollback and deployment reports: production only with a valid approval (a version leaving a
gated stage loses the aliases naming it); a deployment reported without one is recorded as a violation."""

import re

from django.conf import settings
from django.db import transaction

from audits.services import actor_for, audit_event_append, object_ref, personal_record_store
from core.errors import DomainError
from core.permissions import model_write_check
from registry.models import ApprovalRequest, Deployment, ModelVersion, RegisteredModel, Stage
from registry.rollback_rules import traffic_problem
from registry.selectors import approval_valid


def require_approval(version: ModelVersion, stage: str) -> ApprovalRequest:
    sha256 = version.artifact.sha256 if version.artifact_id else ""
    approval = approval_valid(version, stage, sha256)
    if approval.code == "artifact_mismatch":
        raise DomainError("artifact_mismatch", "The approved artifact differs from the version's.", status_code=409)
    if not approval:
        message = f"{version} has no approved, unexpired request for {stage} ({approval.reasons[0]})."
        raise DomainError("not_approved", message, status_code=409)
    return ApprovalRequest.objects.get(pk=approval.request)


def _move(version: ModelVersion, stage: str, actor: str, **extra) -> None:
    before = version.stage
    version.stage = stage
    version.save(update_fields=["stage"])
    _drop_stage_aliases(version, before, actor)
    audit_event_append(
        actor=actor,
        action="model_version.stage_changed",
        object_ref=object_ref(version),
        data={
            "model": version.model.name,
            "version": version.version,
            "from": before,
            "to": stage,
            "artifact_sha256": version.artifact.sha256 if version.artifact else None,
            **extra,
        },
    )


def _drop_stage_aliases(version: ModelVersion, left: str, actor: str) -> None:
    """A version leaving a gated stage loses the aliases that name that stage: `production` never points at
    an archived version."""
    for row in version.aliases.all() if left in (Stage.STAGING, Stage.PRODUCTION) else ():
        if alias_stage(row.alias) == left:
            row.delete()
            audit_event_append(
                actor=actor,
                action="model.alias_deleted",
                object_ref=object_ref(version.model),
                data={"model": version.model.name, "alias": row.alias, "version": version.version, "left": left},
            )


def _promote(model: RegisteredModel, version: ModelVersion, actor: str, approval_id: int) -> None:
    current = model.versions.filter(stage=Stage.PRODUCTION).exclude(pk=version.pk).first()
    if current:
        # Kept as the rollback target: one call puts it back.
        _move(current, Stage.ARCHIVED, actor, replaced_by=version.version)
        model.rollback_target = current
        model.save(update_fields=["rollback_target"])
    _move(version, Stage.PRODUCTION, actor, approval_request=approval_id)
    transaction.on_commit(lambda: _mark_in_mlflow(version.pk))


def _mark_in_mlflow(version_pk: int) -> None:
    from registry.tasks import mlflow_mark_production

    mlflow_mark_production.delay(version_pk)


@transaction.atomic
def model_version_stage_change(*, version: ModelVersion, stage: str, user) -> ModelVersion:
    model = RegisteredModel.objects.select_for_update().get(pk=version.model_id)
    model_write_check(user, model)
    version = (
        ModelVersion.objects.select_for_update(of=("self",)).select_related("model", "artifact").get(pk=version.pk)
    )
    if stage not in Stage.values:
        raise DomainError(
            "invalid", f"stage: must be one of {', '.join(Stage.values)}.", fields={"stage": ["Unknown stage."]}
        )
    if stage == version.stage:
        return version
    if version.stage == Stage.ARCHIVED and stage != Stage.NONE:
        raise DomainError(
            "archived", f"{version} is archived; a rollback or a new version brings a model back.", status_code=409
        )
    actor = actor_for(user)
    if stage == Stage.PRODUCTION:
        _promote(model, version, actor, require_approval(version, stage).pk)
    elif stage == Stage.STAGING:
        _move(version, stage, actor, approval_request=require_approval(version, stage).pk)
    else:
        _move(version, stage, actor)
    return version


@transaction.atomic
def model_rollback(*, model: RegisteredModel, user, reason: str) -> ModelVersion:
    if not reason.strip():
        raise DomainError("invalid", "reason: a rollback needs a reason.", fields={"reason": ["Required."]})
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if user is not None:  # None: the service itself, rolling back on a breach as the policy says
        model_write_check(user, model)
    target = model.rollback_target
    if target is None:
        raise DomainError("no_rollback_target", f"{model.name} has no previous production version.", status_code=409)
    target = ModelVersion.objects.select_for_update(of=("self",)).select_related("model", "artifact").get(pk=target.pk)
    approval = require_approval(target, Stage.PRODUCTION)
    current = model.versions.filter(stage=Stage.PRODUCTION).select_related("model", "artifact").first()
    actor = actor_for(user)
    # The reason is free text that may name people: it stays beside the chain, erasable.
    reason_digest = personal_record_store(subject=actor, kind="rollback_reason", text=reason)
    if current:
        _move(current, Stage.ARCHIVED, actor, rolled_back=True)
    _move(target, Stage.PRODUCTION, actor, approval_request=approval.pk, rollback=True)
    model.rollback_target = current
    model.save(update_fields=["rollback_target"])
    audit_event_append(
        actor=actor,
        action="model.rolled_back",
        object_ref=object_ref(model),
        data={
            "from": current.version if current else None,
            "to": target.version,
            "reason_sha256": reason_digest,
        },
    )
    return target


# How a reported environment maps to the stage whose approval it needs, by the words of its name
# (lower-cased, split on anything but letters and digits): a production word makes it production, then a
# staging word makes it staging, then a development word leaves it ungated. A name with none of these
# words ("eu-west-1") is treated as production: an environment the service cannot place fails closed.
PRODUCTION_WORDS = frozenset({"prod", "production", "prd", "live"})
STAGING_WORDS = frozenset({"staging", "stage", "stg", "preprod", "uat"})
UNGATED_WORDS = frozenset({"dev", "development", "test", "testing", "qa", "ci", "local", "sandbox"})


def environment_stage(environment: str) -> str | None:
    """The stage whose approval a deployment to this environment needs, or None for an ungated one."""
    words = set(re.split(r"[^a-z0-9]+", environment.lower()))
    if words & PRODUCTION_WORDS:
        return Stage.PRODUCTION.value
    if words & STAGING_WORDS:
        return Stage.STAGING.value
    return None if words & UNGATED_WORDS else Stage.PRODUCTION.value


def alias_stage(alias: str) -> str | None:
    """The stage an alias stands for, by its words (as deployments' environments are read), or None."""
    if settings.MLFLOW_PRODUCTION_ALIAS and alias == settings.MLFLOW_PRODUCTION_ALIAS:
        return Stage.PRODUCTION.value
    words = set(re.split(r"[^a-z0-9]+", alias.lower()))
    if words & PRODUCTION_WORDS:
        return Stage.PRODUCTION.value
    return Stage.STAGING.value if words & STAGING_WORDS else None


@transaction.atomic
def deployment_report(
    *,
    version: ModelVersion,
    user,
    environment: str,
    strategy: str,
    traffic_percent,
    rollback_threshold: dict,
    serving_platform: str = "",
) -> Deployment:
    """Records a deployment that happened. Without an approval in force for the environment's stage and the
    version's bytes it is still recorded, as a violation, and announced as `deployment.unapproved`."""
    model_write_check(user, version.model)
    problem = traffic_problem(strategy, traffic_percent)
    if problem:
        raise DomainError(
            "invalid",
            f"traffic_percent: {traffic_percent} does not fit {strategy}: {problem}.",
            fields={"traffic_percent": [f"{problem[0].upper()}{problem[1:]}."]},
        )
    stage = environment_stage(environment)
    sha256 = version.artifact.sha256 if version.artifact_id else None
    approval = approval_valid(version, stage, sha256 or "") if stage else None
    reasons = approval.reasons if approval is not None and not approval else []
    deployment = Deployment.objects.create(
        version=version,
        environment=environment,
        strategy=strategy,
        traffic_percent=traffic_percent,
        rollback_threshold=rollback_threshold,
        serving_platform=serving_platform,
        approval_stage=stage or "",
        violation=bool(reasons),
        violation_reasons=reasons,
        reported_by=user,
    )
    facts = {
        "model": version.model.name,
        "version": version.version,
        "environment": environment,
        "serving_platform": serving_platform,
        "artifact_sha256": sha256,
        "approval_stage": stage,
        "approval_request": approval.request if approval is not None else None,
    }
    actor = actor_for(user)
    audit_event_append(
        actor=actor,
        action="deployment.reported",
        object_ref=object_ref(deployment),
        data={
            **facts,
            "strategy": strategy,
            "traffic_percent": str(deployment.traffic_percent),
            "rollback_threshold": rollback_threshold,
            "violation": bool(reasons),
        },
    )
    if reasons:
        audit_event_append(
            actor=actor,
            action="deployment.unapproved",
            object_ref=object_ref(deployment),
            data={**facts, "reasons": reasons},
        )
    return deployment

"""What the MLflow API does that the registry's own services do not say in MLflow's terms: creating a model
without a risk tier, and a version from an MLflow source with the version name MLflow leaves to the registry.
Everything else goes straight to the registry's services, with their rules and audit events."""

import contextlib

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from core.errors import DomainError
from core.permissions import model_write_check
from registry import aliases, metadata, services
from registry.evaluation_data import (
    EVALUATION_DATASET_TAG,
    evaluation_dataset_resolve,
    model_version_evaluation_dataset_set,
)
from registry.mlflow_sources import mlflow_calls, mlflow_store_allowed
from registry.models import ModelVersion, RegisteredModel, RiskTier, Stage
from registry.stages import model_version_stage_change

RISK_TIER_TAG = "risk_tier"
DEFAULT_RISK_TIER_SETTING = "MLFLOW_API_DEFAULT_RISK_TIER"
_TAG_FIELD = f"tags.{EVALUATION_DATASET_TAG}"
TEAM_TAG = "owning_team"  # the owning team (team:<name>), for an account in several teams


def mlflow_model_create(*, user, name: str, description: str = "", tags: dict[str, str]) -> RegisteredModel:
    """A model from MLflow's create call, which has no risk tier: the `risk_tier` tag gives it, otherwise
    MLFLOW_API_DEFAULT_RISK_TIER does (the strictest by default). The `owning_team` tag names the owning team
    where the account belongs to several."""
    tags = dict(tags)
    defaulted = RISK_TIER_TAG not in tags
    risk_tier = tags.pop(RISK_TIER_TAG, settings.MLFLOW_API_DEFAULT_RISK_TIER)
    if risk_tier not in RiskTier.values:
        message = f"one of {', '.join(RiskTier.values)}."
        raise DomainError("invalid", f"tags.{RISK_TIER_TAG}: {message}", fields={f"tags.{RISK_TIER_TAG}": [message]})
    if RegisteredModel.objects.filter(name=name).exists():
        # MLflow's clients look for this code to go on registering a version of an existing model.
        raise DomainError("already_exists", f"Registered Model (name={name}) already exists.", status_code=400)
    team = tags.pop(TEAM_TAG, None)
    return services.model_register(
        user=user,
        name=name,
        risk_tier=risk_tier,
        team=team,
        description=description,
        tags=tags,
        risk_tier_from=DEFAULT_RISK_TIER_SETTING if defaulted else "",
    )


def _next_version(model: RegisteredModel) -> str:
    """MLflow lets the registry name a new version: the major after the highest one registered, as x.0.0."""
    majors = [int(v.split(".", 1)[0]) for v in model.versions.values_list("version", flat=True)]
    return f"{max(majors, default=0) + 1}.0.0"


def mlflow_model_version_create(
    *, user, model: RegisteredModel, source: str, run_id: str = "", description: str = "", tags: dict[str, str]
) -> ModelVersion:
    """A new version pulled from the tracking server MLFLOW_API_TRACKING_URI names, through the registry's
    import (content-addressed, validated, probed in the sandbox); a refused artifact is refused here too. The
    reserved tag `verity.evaluation_dataset` names the data set its evidence is computed on (the artifact is
    probed on its rows); it is the version's field, not a tag."""
    from mlio.mlflow import registration_source

    model_write_check(user, model)  # before anything is pulled, as every check below
    tags = dict(tags)
    named = tags.pop(EVALUATION_DATASET_TAG, None)
    dataset = evaluation_dataset_resolve(user=user, value=named, field=_TAG_FIELD) if named is not None else None
    metadata.tags_check(tags)  # before anything is pulled: a bad tag leaves no version behind
    tracking_uri = settings.MLFLOW_API_TRACKING_URI
    if not tracking_uri:
        message = "this service pulls models from no MLflow tracking server (MLFLOW_API_TRACKING_URI is not set)."
        raise DomainError("mlflow_unconfigured", f"source: {message}", fields={"source": [message]})
    mlflow_store_allowed(tracking_uri)
    with mlflow_calls():
        source = registration_source(tracking_uri=tracking_uri, source=source, run_id=run_id or None)
    version, _ = services.model_version_import(
        user=user,
        model=model,
        version=_next_version(model),
        tracking_uri=tracking_uri,
        source=source,
        sample_dataset=dataset,
    )
    if description or tags:
        version = metadata.model_version_metadata_update(
            version=version, user=user, description=description or None, tags=tags or None
        )
    return version


@contextlib.contextmanager
def _approval_hint(version: ModelVersion):
    """A refusal for want of an approval also says how to ask for one."""
    try:
        yield
    except DomainError as exc:
        if exc.code != "not_approved":
            raise
        url = reverse("v1:approval-request-submit", args=[version.model.name, version.version])
        raise DomainError(
            exc.code, f"{exc.message} Request one: POST {url} with its target_stage.", status_code=exc.status_code
        ) from exc


def mlflow_alias_set(*, version: ModelVersion, alias: str, user) -> None:
    """Sets the alias; one that names a gated stage needs its approval and moves the version there."""
    with _approval_hint(version):
        aliases.model_alias_set(model=version.model, alias=alias, version=version, user=user)


@transaction.atomic
def mlflow_stage_transition(
    *, version: ModelVersion, stage: str, user, archive_existing_versions: bool = False
) -> ModelVersion:
    """MLflow's transition: the registry's stage change (production and staging need their approval in
    force; promoting archives the previous production version). `archive_existing_versions` also archives
    the model's other versions in the target stage, each an audited stage change."""
    with _approval_hint(version):
        moved = model_version_stage_change(version=version, stage=stage, user=user)
    if archive_existing_versions and stage in (Stage.STAGING, Stage.PRODUCTION):
        for other in moved.model.versions.filter(stage=stage).exclude(pk=moved.pk).select_related("model"):
            model_version_stage_change(version=other, stage=Stage.ARCHIVED, user=user)
    return moved


def mlflow_version_tag_set(*, version: ModelVersion, key: str, value: str, user) -> ModelVersion:
    """MLflow's set-tag: the reserved `verity.evaluation_dataset` names the version's evaluation data set (while
    no approval of it is in force); any other key is a tag."""
    if key == EVALUATION_DATASET_TAG:
        return model_version_evaluation_dataset_set(version=version, dataset=value, user=user, field="value")
    return metadata.model_version_metadata_update(version=version, user=user, tags={key: value})


def mlflow_version_tag_delete(*, version: ModelVersion, key: str, user) -> ModelVersion:
    if key == EVALUATION_DATASET_TAG:
        message = "the evaluation data set is replaced (set the tag again), never removed."
        raise DomainError("invalid", f"key: {message}", fields={"key": [message]})
    return metadata.model_version_metadata_update(version=version, user=user, tags={key: None})

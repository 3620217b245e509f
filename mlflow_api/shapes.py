"""Registry rows in the JSON shapes of MLflow's REST API (model_registry.proto), as its client parses them."""

from audits.services import actor_for
from mlflow_api.selectors import version_number, version_numbers
from registry.evaluation_data import EVALUATION_DATASET_TAG
from registry.models import ModelVersion, RegisteredModel, Stage

MLFLOW_STAGES = {
    Stage.NONE: "None",
    Stage.STAGING: "Staging",
    Stage.PRODUCTION: "Production",
    Stage.ARCHIVED: "Archived",
}
STAGES_BY_MLFLOW_NAME = {name.lower(): stage for stage, name in MLFLOW_STAGES.items()}


def _millis(moment) -> int:
    return int(moment.timestamp() * 1000)


def _tags(tags: dict) -> list[dict]:
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


def _with_evaluation_dataset(version: ModelVersion) -> dict:
    """The evaluation data set reads back as the reserved tag that names it."""
    if version.evaluation_dataset_id is None:
        return version.tags
    return {**version.tags, EVALUATION_DATASET_TAG: str(version.evaluation_dataset_id)}


def model_version_json(version: ModelVersion, number: str | None = None) -> dict:
    created = _millis(version.created_at)
    return {
        "name": version.model.name,
        "version": number or version_number(version),
        "creation_timestamp": created,
        "last_updated_timestamp": created,
        "user_id": actor_for(version.submitted_by),
        "current_stage": MLFLOW_STAGES[version.stage],
        "description": version.description,
        "source": version.lineage.get("mlflow_source", ""),
        "run_id": version.lineage.get("mlflow_run_id", ""),
        "status": "READY",
        "tags": _tags(_with_evaluation_dataset(version)),
        "aliases": sorted(version.aliases.values_list("alias", flat=True)),
    }


def registered_model_json(model: RegisteredModel, *, with_versions: bool = True) -> dict:
    numbers = version_numbers(model)
    body = {
        "name": model.name,
        "creation_timestamp": _millis(model.created_at),
        "last_updated_timestamp": _millis(model.created_at),
        "user_id": actor_for(model.owner),
        "description": model.description,
        "tags": _tags(model.tags),
        "aliases": [
            {"alias": row.alias, "version": numbers[row.version_id]} for row in model.aliases.order_by("alias")
        ],
    }
    if with_versions:
        # MLflow's latest_versions: the newest version in each stage.
        latest = {}
        for version in model.versions.select_related("model", "submitted_by").order_by("id"):
            latest[version.stage] = version
        body["latest_versions"] = [model_version_json(v, numbers[v.pk]) for v in latest.values()]
    return body

"""What an import records about a model: flavors, run params, metrics, tags, lineage, signature; Django-free."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import ImportedModel, MlflowImportError, _redact_uri, _Resolved, _rfc3339

if TYPE_CHECKING:
    from mlflow.entities import Run

# Run tags MLflow sets itself that say where the code came from. Everything else under
# "mlflow." is bookkeeping or, like mlflow.user, personal data, and is dropped.
_CODE_TAGS = {
    "mlflow.source.git.commit": "code_commit",
    "mlflow.source.git.repoURL": "code_repository",
    "mlflow.source.git.branch": "code_branch",
    "mlflow.source.name": "code_source_name",
    "mlflow.source.type": "code_source_type",
}
_SYSTEM_TAG_PREFIX = "mlflow."
# Personal data MLflow records on its own; never copied, wherever it turns up.
_PERSONAL_KEYS = {"mlflow.user"}


def _imported_model(zip_path: Path, mlmodel: dict[str, Any], resolved: _Resolved, source: str) -> ImportedModel:
    flavor_config = {name: dict(config or {}) for name, config in mlmodel["flavors"].items()}
    framework = next((name for name in flavor_config if name != "python_function"), None)
    run = resolved.run
    return ImportedModel(
        zip_path=zip_path,
        flavors=list(flavor_config),
        flavor_config=flavor_config,
        framework=framework,
        framework_version=_flavor_version(flavor_config[framework]) if framework else None,
        run_id=run.info.run_id if run else None,
        experiment_id=run.info.experiment_id if run else None,
        params=dict(run.data.params) if run else {},
        metrics={key: float(value) for key, value in run.data.metrics.items()} if run else {},
        tags=_user_tags(run.data.tags) if run else {},
        lineage=_lineage(resolved, mlmodel, source),
        signature=_signature(mlmodel),
    )


def _flavor_version(config: dict[str, Any]) -> str | None:
    # Flavors record their library's version as "<lib>_version" (sklearn_version, xgb_version, ...).
    versions = [config[key] for key in sorted(config) if key.endswith("_version") and config[key] is not None]
    return str(versions[0]) if versions else None


def _user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in tags.items() if not key.startswith(_SYSTEM_TAG_PREFIX)}


def _lineage(resolved: _Resolved, mlmodel: dict[str, Any], source: str) -> dict[str, Any]:
    """Flat keys in the service's lineage vocabulary (mlflow_*, code_*); absent facts are left out, not None."""
    run = resolved.run
    lineage: dict[str, Any] = {
        "mlflow_source": source,
        "mlflow_model_name": resolved.registered_name,
        "mlflow_model_version": resolved.registered_version,
        "mlflow_logged_model_id": mlmodel.get("model_id"),
    }
    if run is not None:
        lineage |= _run_lineage(run) | _code_lineage(run.data.tags)
        lineage["datasets"] = _dataset_lineage(run)
    return {key: value for key, value in lineage.items() if value is not None}


def _run_lineage(run: Run) -> dict[str, str | None]:
    return {
        "mlflow_run_id": run.info.run_id,
        "mlflow_run_name": run.info.run_name,
        "mlflow_experiment_id": run.info.experiment_id,
        "mlflow_parent_run_id": run.data.tags.get("mlflow.parentRunId"),
        "run_start_time": _rfc3339(run.info.start_time),
        "run_end_time": _rfc3339(run.info.end_time),
    }


def _code_lineage(tags: dict[str, str]) -> dict[str, str]:
    code = {key: tags[tag] for tag, key in _CODE_TAGS.items() if tag in tags}
    if "code_repository" in code:
        code["code_repository"] = _redact_uri(code["code_repository"])
    return code


def _dataset_lineage(run: Run) -> list[dict[str, Any]]:
    datasets = []
    for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
        dataset = dataset_input.dataset
        context = next((tag.value for tag in dataset_input.tags if tag.key == "mlflow.data.context"), None)
        datasets.append(
            {
                "name": dataset.name,
                "digest": dataset.digest,
                "source_type": dataset.source_type,
                "source": _dataset_source(dataset.source),
                "context": context,
            }
        )
    return datasets


def _dataset_source(source: str | None) -> Any:
    # A dataset logged without a source gets the run context's tags as its source, mlflow.user included.
    try:
        return _without_personal_keys(json.loads(source)) if source else source
    except json.JSONDecodeError:
        return source


def _without_personal_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_personal_keys(item) for key, item in value.items() if key not in _PERSONAL_KEYS}
    if isinstance(value, list):
        return [_without_personal_keys(item) for item in value]
    return value


def _signature(mlmodel: dict[str, Any]) -> dict[str, Any] | None:
    signature = mlmodel.get("signature")
    if not isinstance(signature, dict):
        return None
    # MLmodel keeps each part as a JSON string; decoded here so callers store plain JSON.
    try:
        parts = {key: json.loads(value) for key, value in signature.items() if isinstance(value, str)}
    except json.JSONDecodeError as exc:
        raise MlflowImportError("invalid_model", f"MLmodel signature is not valid JSON: {exc}") from exc
    return {key: parts[key] for key in ("inputs", "outputs", "params") if key in parts} or None

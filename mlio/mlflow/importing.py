"""Importing a model: resolve the source to a model directory, download it, zip it, describe it; Django-free."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .core import ImportedModel, MlflowImportError, _redact_uri, _Resolved
from .metadata import _imported_model
from .model_dir import _download, _read_mlmodel, _zip_model_dir
from .store import _ARTIFACT_CHECK, SOURCE_HINT, _artifact_allowed, _mlflow_errors, _open_client, parse_source

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel, Run
    from mlflow.entities.model_registry import ModelVersion


def import_model(
    *, tracking_uri: str, source: str, workdir: Path, artifact_check: Callable[[str], None] | None = None
) -> ImportedModel:
    """Download the model behind ``source`` into ``workdir`` as a deterministic ZIP, with its run's metadata.

    ``artifact_check`` sees every artifact URI before anything is listed or read there, and refuses one by
    raising MlflowImportError: a store names its runs' artifact locations, so the caller decides where
    an import may read, not the store."""
    token = _ARTIFACT_CHECK.set(artifact_check)
    try:
        return _import_model(tracking_uri, source, workdir)
    finally:
        _ARTIFACT_CHECK.reset(token)


def _import_model(tracking_uri: str, source: str, workdir: Path) -> ImportedModel:
    kind, first, second = parse_source(source)
    client = _open_client(tracking_uri)
    resolved = _resolve(client, tracking_uri, kind, first, second)
    stage = Path(tempfile.mkdtemp(prefix="mlflow-import-", dir=workdir))
    try:
        model_dir = _download(resolved.artifact_uri, tracking_uri, stage / "download")
        mlmodel = _read_mlmodel(model_dir)
        zip_path = _zip_model_dir(model_dir, stage / "model.zip")
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    shutil.rmtree(stage / "download", ignore_errors=True)
    return _imported_model(zip_path, mlmodel, resolved, source.strip())


def registration_source(*, tracking_uri: str, source: str, run_id: str | None) -> str:
    """What to import for a version an MLflow client registers: a runs:/ or models:/ source as it is; for a
    model kept in a run's artifacts, MLflow's client sends the artifact's location, which becomes the runs:/
    source of that artifact once the tracking server confirms the run keeps it there. Nothing else is read."""
    try:
        parse_source(source)
        return source.strip()
    except MlflowImportError:
        if not run_id:
            raise
    client = _open_client(tracking_uri)
    with _mlflow_errors(f"run {run_id}"):
        run = client.get_run(run_id)
    root = run.info.artifact_uri.rstrip("/") + "/"
    if not source.startswith(root):
        raise MlflowImportError("bad_uri", f"{SOURCE_HINT}; {_redact_uri(source)} is not an artifact of run {run_id}")
    candidate = f"runs:/{run.info.run_id}/{source.removeprefix(root)}"
    parse_source(candidate)
    return candidate


# --- resolving a source to a model directory -----------------------------------------------------


def _resolve(client: MlflowClient, tracking_uri: str, kind: str, first: str, second: str) -> _Resolved:
    if kind == "version":
        return _resolve_version(client, tracking_uri, first, second)
    if kind == "alias":
        return _resolve_alias(client, tracking_uri, first, second)
    if kind == "logged":
        return _resolve_logged_model(client, first)
    return _resolve_run_path(client, tracking_uri, first, second)


def _resolve_alias(client: MlflowClient, tracking_uri: str, name: str, alias: str) -> _Resolved:
    # Read through the registered model: a missing alias then reads as not found, where
    # get_model_version_by_alias reports it as an invalid parameter.
    with _mlflow_errors(f"registered model {name}"):
        aliases = client.get_registered_model(name).aliases
    if alias not in aliases:
        raise MlflowImportError("not_found", f"registered model {name} has no alias {alias!r}")
    return _resolve_version(client, tracking_uri, name, str(aliases[alias]))


def _resolve_logged_model(client: MlflowClient, model_id: str) -> _Resolved:
    with _mlflow_errors(f"logged model {model_id}"):
        logged = client.get_logged_model(model_id)
    run = None
    if logged.source_run_id:
        with _mlflow_errors(f"run {logged.source_run_id} of logged model {model_id}"):
            run = client.get_run(logged.source_run_id)
    return _Resolved(logged.artifact_location, run)


def _resolve_version(client: MlflowClient, tracking_uri: str, name: str, version: str) -> _Resolved:
    subject = f"model version {name}/{version}"
    with _mlflow_errors(subject):
        model_version = client.get_model_version(name, version)
    if model_version.status != "READY":
        raise MlflowImportError("not_ready", f"{subject} is {model_version.status}, not READY")
    run = None
    if model_version.run_id:
        with _mlflow_errors(f"run {model_version.run_id} of {subject}"):
            run = client.get_run(model_version.run_id)
    artifact_uri = _model_version_artifact_uri(client, tracking_uri, model_version)
    return _Resolved(artifact_uri, run, registered_name=name, registered_version=str(model_version.version))


def _model_version_artifact_uri(client: MlflowClient, tracking_uri: str, model_version: ModelVersion) -> str:
    subject = f"model version {model_version.name}/{model_version.version}"
    with _mlflow_errors(subject):
        uri = client.get_model_version_download_uri(model_version.name, str(model_version.version))
    # Stores that keep only the source hand back models:/ or runs:/ URIs. MLflow's own resolver
    # for those reads the process-wide registry URI, so they are resolved here instead.
    if uri.startswith("models:/"):
        with _mlflow_errors(subject):
            return client.get_logged_model(uri.removeprefix("models:/")).artifact_location
    if uri.startswith("runs:/"):
        _, run_id, path = parse_source(uri)
        return _resolve_run_path(client, tracking_uri, run_id, path).artifact_uri
    return uri


def _resolve_run_path(client: MlflowClient, tracking_uri: str, run_id: str, path: str) -> _Resolved:
    with _mlflow_errors(f"run {run_id}"):
        run = client.get_run(run_id)
    # MLflow 2 (and log_artifacts) keep the model in the run's artifacts; MLflow 3's log_model
    # keeps it in a logged model whose name is the path's first segment.
    candidates = [_join_uri(run.info.artifact_uri, path), _logged_model_uri(client, run, path)]
    for uri in candidates:
        if uri is not None and _has_mlmodel(uri, tracking_uri, f"run {run_id}"):
            return _Resolved(uri, run)
    raise MlflowImportError("no_model", f"runs:/{run_id}/{path} holds no MLmodel file")


def _logged_model_uri(client: MlflowClient, run: Run, path: str) -> str | None:
    name, _, rest = path.partition("/")
    matches = [model for model in _logged_models_of(client, run) if model.name == name]
    if not matches:
        return None
    # A run may log several models under one name; its newest one is what runs:/ means now.
    newest = max(matches, key=lambda model: model.creation_timestamp or 0)
    return _join_uri(newest.artifact_location, rest)


def _logged_models_of(client: MlflowClient, run: Run) -> Iterator[LoggedModel]:
    run_id = run.info.run_id  # from the store, and parse_source limits it to word characters
    page_token = None
    while True:
        with _mlflow_errors(f"logged models of run {run_id}"):
            page = client.search_logged_models(
                experiment_ids=[run.info.experiment_id],
                filter_string=f"source_run_id = '{run_id}'",
                page_token=page_token,
            )
        yield from page
        if not page.token:
            return
        page_token = page.token


def _has_mlmodel(artifact_uri: str, tracking_uri: str, subject: str) -> bool:
    from mlflow.artifacts import list_artifacts

    _artifact_allowed(artifact_uri)
    with _mlflow_errors(subject):
        entries = list_artifacts(artifact_uri=artifact_uri, tracking_uri=tracking_uri)
    return any(not entry.is_dir and entry.path.rsplit("/", 1)[-1] == "MLmodel" for entry in entries)


def _join_uri(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{path}" if path else base

"""Bridge to MLflow: import a model version with its lineage, and mark production versions back.

Pure functions with explicit URIs and no Django: MLflow's global tracking/registry URI is process
state, and other code in the same worker may talk to other stores, so nothing here calls
``mlflow.set_tracking_uri``. MLflow is imported lazily so that importing this module (for the
exception type, say) does not cost the web process MLflow's import time.

Nothing here deserializes a model: the model directory is downloaded and zipped as bytes. Whether
its flavors are data-only is decided by the caller from ``ImportedModel.flavor_config``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModel, Run
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.exceptions import MlflowException

SOURCE_HINT = "source: expected models:/<name>/<version> or runs:/<run_id>/<path>"

# The earliest timestamp a ZIP can hold; a fixed one keeps the archive's bytes (and hash) stable.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

_MODEL_VERSION = re.compile(r"models:/(?P<name>[^/@\x00-\x1f]+)/(?P<version>[1-9][0-9]*)")
_MODEL_ALIAS = re.compile(r"models:/(?P<name>[^/@\x00-\x1f]+)@(?P<alias>[\w-]+)")
_RUN_PATH = re.compile(r"runs:/(?P<run_id>[\w-]+)/(?P<path>[^\x00-\x1f]+)")
_POSITIVE_INT = re.compile(r"[1-9][0-9]*")
_URL_USERINFO = re.compile(r"//[^/@\s]+@")

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

# Tracking URIs that MLflow treats as store names, not as local paths.
_NAMED_STORES = {"databricks", "databricks-uc", "uc"}


class MlflowImportError(Exception):
    """An MLflow import or write-back that cannot be done; ``code`` is stable, ``message`` is for people.

    Codes: bad_uri, bad_argument, unreachable, not_found, not_ready, no_model, invalid_model, rejected.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class ImportedModel:
    zip_path: Path
    flavors: list[str]
    flavor_config: dict[str, dict[str, Any]]
    framework: str | None
    framework_version: str | None
    run_id: str | None
    experiment_id: str | None
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    lineage: dict[str, Any]
    signature: dict[str, Any] | None


@dataclass
class _Resolved:
    """Where a source's model directory lives, and what it came from."""

    artifact_uri: str
    run: Run | None
    registered_name: str | None = None
    registered_version: str | None = None


# --- sources -------------------------------------------------------------------------------------


def parse_source(uri: str) -> tuple[str, ...]:
    """Split a source URI into ("version", name, version), ("alias", name, alias) or ("run", run_id, path)."""
    text = uri.strip()
    if match := _MODEL_VERSION.fullmatch(text):
        return ("version", match["name"], match["version"])
    if match := _MODEL_ALIAS.fullmatch(text):
        return ("alias", match["name"], match["alias"])
    if (match := _RUN_PATH.fullmatch(text)) and _is_safe_relative_path(match["path"].rstrip("/")):
        return ("run", match["run_id"], match["path"].rstrip("/"))
    raise MlflowImportError("bad_uri", SOURCE_HINT)


def _is_safe_relative_path(path: str) -> bool:
    # ".." would let a runs:/ source read another run's artifacts on a file-backed store, and
    # file URIs are percent-decoded, so "%2e%2e" would be ".." all the same.
    parts = path.split("/")
    return "\\" not in path and "%" not in path and all(part not in ("", ".", "..") for part in parts)


# --- public operations ---------------------------------------------------------------------------


def import_model(*, tracking_uri: str, source: str, workdir: Path) -> ImportedModel:
    """Download the model behind ``source`` into ``workdir`` as a deterministic ZIP, with its run's metadata."""
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


def set_production_marker(
    *,
    tracking_uri: str,
    model_name: str,
    version: str,
    alias: str = "production",
    tag_key: str = "verity.stage",
    tag_value: str = "production",
) -> None:
    """Point ``alias`` at the registered model version and tag that version, as the service promotes it."""
    version = str(version)
    if not _POSITIVE_INT.fullmatch(version):
        raise MlflowImportError("bad_argument", f"model version must be a positive integer, got {version!r}")
    client = _open_client(tracking_uri)
    with _mlflow_errors(f"model version {model_name}/{version}"):
        # The alias goes first: MLflow refuses it for a missing version, so a typo writes nothing.
        client.set_registered_model_alias(model_name, alias, version)
        client.set_model_version_tag(model_name, version, tag_key, tag_value)


# --- talking to MLflow ---------------------------------------------------------------------------


def _open_client(tracking_uri: str) -> MlflowClient:
    if not tracking_uri.strip():
        # An empty URI would make MLflow fall back to the process-wide default store.
        raise MlflowImportError("unreachable", "tracking URI cannot be opened: it is empty")
    _require_existing_local_store(tracking_uri)
    from mlflow import MlflowClient

    try:
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    except Exception as exc:  # whatever MLflow raises while building its store, the store cannot be opened
        raise MlflowImportError(
            "unreachable", f"tracking URI cannot be opened: {_redact_uri(tracking_uri)} ({_first_line(exc)})"
        ) from exc


def _require_existing_local_store(tracking_uri: str) -> None:
    """Refuse local stores that do not exist: MLflow would silently create an empty one (directory included)."""
    scheme = urlsplit(tracking_uri).scheme
    if tracking_uri in _NAMED_STORES:
        return
    if scheme == "sqlite":
        path, expect = _sqlite_path(tracking_uri), "SQLite database"
        exists = path is not None and path.is_file()
    elif scheme in ("", "file"):
        path, expect = _file_store_path(tracking_uri), "MLflow file store directory"
        exists = path.is_dir()
    else:
        return
    if not exists:
        raise MlflowImportError(
            "unreachable", f"tracking URI cannot be opened: {expect} {_redact_uri(tracking_uri)} does not exist"
        )


def _sqlite_path(tracking_uri: str) -> Path | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(tracking_uri).database
    except ArgumentError:
        return None
    # An in-memory database is always empty, so it can hold no model either.
    return Path(database) if database and database != ":memory:" else None


def _file_store_path(tracking_uri: str) -> Path:
    parts = urlsplit(tracking_uri)
    return Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(tracking_uri)


@contextlib.contextmanager
def _mlflow_errors(subject: str) -> Iterator[None]:
    """Turn what MLflow and its transports raise into MlflowImportError."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except MlflowException as exc:
        raise _translate(exc, subject) from exc
    except (OSError, SQLAlchemyError) as exc:  # requests' errors are OSErrors too
        detail = _first_line(exc)
        raise MlflowImportError("unreachable", f"MLflow could not be reached for {subject}: {detail}") from exc


def _translate(exc: MlflowException, subject: str) -> MlflowImportError:
    status = exc.get_http_status_code()
    detail = _first_line(exc)
    if status == 404:
        return MlflowImportError("not_found", f"{subject} not found in MLflow ({detail})")
    if 400 <= status < 500:
        return MlflowImportError("rejected", f"MLflow refused the request for {subject}: {detail}")
    return MlflowImportError("unreachable", f"MLflow could not serve {subject}: {detail}")


# --- resolving a source to a model directory -----------------------------------------------------


def _resolve(client: MlflowClient, tracking_uri: str, kind: str, first: str, second: str) -> _Resolved:
    if kind == "version":
        return _resolve_version(client, tracking_uri, first, second)
    if kind == "alias":
        return _resolve_alias(client, tracking_uri, first, second)
    return _resolve_run_path(client, tracking_uri, first, second)


def _resolve_alias(client: MlflowClient, tracking_uri: str, name: str, alias: str) -> _Resolved:
    # Read through the registered model: a missing alias then reads as not found, where
    # get_model_version_by_alias reports it as an invalid parameter.
    with _mlflow_errors(f"registered model {name}"):
        aliases = client.get_registered_model(name).aliases
    if alias not in aliases:
        raise MlflowImportError("not_found", f"registered model {name} has no alias {alias!r}")
    return _resolve_version(client, tracking_uri, name, str(aliases[alias]))


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

    with _mlflow_errors(subject):
        entries = list_artifacts(artifact_uri=artifact_uri, tracking_uri=tracking_uri)
    return any(not entry.is_dir and entry.path.rsplit("/", 1)[-1] == "MLmodel" for entry in entries)


def _join_uri(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{path}" if path else base


# --- the model directory -------------------------------------------------------------------------


def _download(artifact_uri: str, tracking_uri: str, destination: Path) -> Path:
    from mlflow.artifacts import download_artifacts

    _refuse_local_symlinks(artifact_uri)
    with _mlflow_errors(f"model artifacts at {_redact_uri(artifact_uri)}"):
        local = Path(
            download_artifacts(
                artifact_uri=artifact_uri,
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
                dst_path=str(destination),
            )
        )
    if not (local / "MLmodel").is_file():
        raise MlflowImportError("no_model", f"{_redact_uri(artifact_uri)} holds no MLmodel file")
    return local


def _read_mlmodel(model_dir: Path) -> dict[str, Any]:
    import yaml

    try:
        mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MlflowImportError("invalid_model", f"MLmodel is not valid YAML: {_first_line(exc)}") from exc
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors"), dict) or not mlmodel["flavors"]:
        raise MlflowImportError("invalid_model", "MLmodel declares no flavors")
    return mlmodel


def _zip_model_dir(model_dir: Path, zip_path: Path) -> Path:
    """Zip the directory with MLmodel at the root, sorted entries and fixed metadata: same model, same bytes."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, path in _model_files(model_dir):
            info = zipfile.ZipInfo(arcname, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, wherever this runs
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.file_size = path.stat().st_size  # lets zipfile pick ZIP64 up front for large files
            with path.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
    return zip_path


def _refuse_local_symlinks(artifact_uri: str) -> None:
    # MLflow copies a file-backed artifact by following links, so a link planted in the store
    # would copy any file this process can read into the stored model.
    parts = urlsplit(artifact_uri)
    if parts.scheme == "file":
        _refuse_symlinks(Path(url2pathname(parts.path)))


def _refuse_symlinks(root: Path) -> None:
    if root.is_symlink():
        raise MlflowImportError("invalid_model", f"model directory is a symbolic link: {root.name}")
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            if Path(dirpath, name).is_symlink():
                raise MlflowImportError("invalid_model", f"model directory contains a symbolic link: {name}")


def _model_files(model_dir: Path) -> list[tuple[str, Path]]:
    _refuse_symlinks(model_dir)  # a link would pull a file from outside the model into the archive
    files = []
    for dirpath, _, filenames in os.walk(model_dir):
        for name in filenames:
            path = Path(dirpath, name)
            files.append((path.relative_to(model_dir).as_posix(), path))
    return sorted(files)


# --- metadata ------------------------------------------------------------------------------------


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


# --- small helpers -------------------------------------------------------------------------------


def _rfc3339(epoch_millis: int | None) -> str | None:
    if epoch_millis is None:
        return None
    moment = datetime.fromtimestamp(epoch_millis / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _redact_uri(uri: str) -> str:
    """Drop user and password from a URI: they are credentials, and messages and lineage get stored."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _first_line(exc: BaseException) -> str:
    # MLflow and drivers quote URLs in their errors; any user:password@ in them is dropped.
    lines = _URL_USERINFO.sub("//", str(exc)).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__

"""Source URIs and the MLflow store: parsing a source, opening a client, translating MLflow's errors.

Django-free; MLflow is imported lazily.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .core import MlflowImportError, _first_line, _redact_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

SOURCE_HINT = "source: expected models:/<name>/<version>, models:/<logged model id> or runs:/<run_id>/<path>"

_MODEL_VERSION = re.compile(r"models:/(?P<name>[^/@\x00-\x1f]+)/(?P<version>[1-9][0-9]*)")
_MODEL_ALIAS = re.compile(r"models:/(?P<name>[^/@\x00-\x1f]+)@(?P<alias>[\w-]+)")
# A model logged by MLflow 3 (what mlflow.register_model("runs:/<id>/<name>") registers): "m-" and a UUID.
_LOGGED_MODEL = re.compile(r"models:/(?P<model_id>m-[0-9a-f]{32})")
_RUN_PATH = re.compile(r"runs:/(?P<run_id>[\w-]+)/(?P<path>[^\x00-\x1f]+)")

# What the caller allows an import to read (a function raising MlflowImportError), for the artifact URIs that
# resolution finds deep inside (a run's, a logged model's, a version's download URI): set by import_model.
_ARTIFACT_CHECK: ContextVar[Callable[[str], None] | None] = ContextVar("mlflow_artifact_check", default=None)

# Tracking URIs that MLflow treats as store names, not as local paths.
_NAMED_STORES = {"databricks", "databricks-uc", "uc"}


# --- sources -------------------------------------------------------------------------------------


def parse_source(uri: str) -> tuple[str, ...]:
    """Split a source URI into ("version", name, version), ("alias", name, alias), ("logged", model_id, "")
    or ("run", run_id, path)."""
    text = uri.strip()
    if match := _LOGGED_MODEL.fullmatch(text):
        return ("logged", match["model_id"], "")
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


# --- talking to MLflow ---------------------------------------------------------------------------


def _artifact_allowed(artifact_uri: str) -> None:
    check = _ARTIFACT_CHECK.get()
    if check is not None:
        check(artifact_uri)


_HTTP_VARIABLES = (
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
)


@contextlib.contextmanager
def http_limits(*, timeout: int, max_retries: int, backoff_factor: float) -> Iterator[None]:
    """MLflow's HTTP calls inside the block give up after ``timeout`` seconds per connect or read and
    ``max_retries`` retries (MLflow's defaults, 120 s and 7 retries, hold a web worker for minutes).
    MLflow reads these from the environment at each request and takes no argument for them."""
    values = (str(timeout), str(max_retries), str(backoff_factor), "0")
    saved = {name: os.environ.get(name) for name in _HTTP_VARIABLES}
    os.environ.update(zip(_HTTP_VARIABLES, values, strict=True))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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

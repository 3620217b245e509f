"""Shared pieces of the MLflow bridge: its error, the imported model, and small helpers; Django-free."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from mlflow.entities import Run

_URL_USERINFO = re.compile(r"//[^/@\s]+@")


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

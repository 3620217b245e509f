"""Marking a registered model version as in production in MLflow (alias and tag); Django-free."""

from __future__ import annotations

import re

from .core import MlflowImportError
from .store import _mlflow_errors, _open_client

_POSITIVE_INT = re.compile(r"[1-9][0-9]*")


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

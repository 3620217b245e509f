"""MLflow flavors that load without unpickling: their model file is loaded by our own loaders; Django-free."""

from __future__ import annotations

import dataclasses
import posixpath
import zipfile
from typing import Any

from .detection import sniff
from .formats import _HEAD_BYTES, ArtifactFormat

# flavor -> (MLmodel key naming the model file, formats that file may have)
NATIVE_MLFLOW_FLAVORS: dict[str, tuple[str, frozenset[ArtifactFormat]]] = {
    "sklearn": ("pickled_model", frozenset({ArtifactFormat.SKOPS})),
    "xgboost": ("data", frozenset({ArtifactFormat.XGBOOST})),
    "lightgbm": ("data", frozenset({ArtifactFormat.LIGHTGBM, ArtifactFormat.SKOPS})),
    "onnx": ("data", frozenset({ArtifactFormat.ONNX})),
}
_SNIFFED_FORMAT = {
    "zip": ArtifactFormat.SKOPS,
    "xgboost_json": ArtifactFormat.XGBOOST,
    "xgboost_ubjson": ArtifactFormat.XGBOOST,
    "lightgbm": ArtifactFormat.LIGHTGBM,
    "onnx": ArtifactFormat.ONNX,
    "pickle": ArtifactFormat.PICKLE,
}


@dataclasses.dataclass(frozen=True)
class NativeFlavor:
    name: str
    member: str  # path of the model file inside the zip
    format: ArtifactFormat
    config: dict[str, Any]


def native_mlflow_flavor(archive: zipfile.ZipFile, root: str, mlmodel: dict[str, Any]) -> NativeFlavor | None:
    """The first flavor whose model file is a data-only format we load ourselves, if any."""
    names = set(archive.namelist())
    for name, (key, formats) in NATIVE_MLFLOW_FLAVORS.items():
        config = mlmodel["flavors"].get(name)
        relative = config.get(key) if isinstance(config, dict) else None
        if not isinstance(relative, str):
            continue
        if name == "sklearn" and config.get("serialization_format") != "skops":
            continue
        member = posixpath.normpath(root + relative)
        if member not in names or not member.startswith(root) or member.startswith("../"):
            continue
        with archive.open(member) as handle:
            found = _SNIFFED_FORMAT.get(sniff(handle.read(_HEAD_BYTES)) or "")
        if found in formats:
            return NativeFlavor(name, member, found, config)
    return None

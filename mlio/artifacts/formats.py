"""Artifact formats, the rejection error, the acceptance report and the streamed SHA-256; Django-free."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import os
from typing import Any

ACCEPTED_FORMATS = (
    "skops (skops.io.dump), XGBoost JSON or UBJSON model files (save_model), LightGBM text model files "
    "(save_model), ONNX graphs, or an MLflow model directory as a zip (MLmodel at its root or in one top folder)"
)
PICKLE_ADVICE = (
    "pickle artifacts run code when loaded; export the model with skops (skops.io.dump), ONNX or the "
    "framework's native format, or ask the administrator to set ALLOW_PICKLE_ARTIFACTS"
)
# A zip may unpack to more than the upload limit (skops arrays compress well), but not without bound: to at
# most this many times the upload limit (MAX_ARTIFACT_BYTES), ARTIFACT_UNPACKED_RATIO in the settings.
DEFAULT_UNPACKED_RATIO = 8
MAX_ARCHIVE_MEMBERS = 10_000
_MAX_MLMODEL_BYTES = 2**20
_HEAD_BYTES = 4096
_TAIL_BYTES = 256 * 2**10
_CHUNK_BYTES = 2**20

StrPath = str | os.PathLike[str]


class ArtifactFormat(enum.StrEnum):
    SKOPS = "skops"
    XGBOOST = "xgboost"
    LIGHTGBM = "lightgbm"
    ONNX = "onnx"
    MLFLOW = "mlflow"
    PICKLE = "pickle"


class ArtifactRejected(Exception):
    """Why an artifact cannot be accepted or loaded: a stable ``code`` and a message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclasses.dataclass(frozen=True)
class ArtifactReport:
    format: ArtifactFormat
    sha256: str
    size: int
    framework: str | None = None
    framework_version: str | None = None
    flavor: str | None = None
    model_class: str | None = None
    n_features: int | None = None
    feature_names: list[str] | None = None
    classes: list[Any] | None = None
    has_predict_proba: bool = False
    sample_predictions: int = 0
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "format": self.format.value}


def sha256_file(path: StrPath) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()

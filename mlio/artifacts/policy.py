"""The data-only policy: formats and contents refused because loading them would run code; Django-free."""

from __future__ import annotations

import os
import posixpath
import zipfile
from typing import Any

from mlio.trusted_types import untrusted_skops_types

from .archives import _unsafe_archive, check_archive, read_mlmodel
from .flavors import native_mlflow_flavor
from .formats import PICKLE_ADVICE, ArtifactFormat, ArtifactRejected, StrPath
from .onnx_data import _refuse_onnx_external_data, onnx_external_locations


def check_allowed(
    fmt: ArtifactFormat,
    path: StrPath,
    *,
    allow_pickle: bool,
    max_unpacked_bytes: int | None = None,
) -> None:
    """Refuse formats and contents that would run code when loaded (unless pickles are allowed).

    An upload's archive is held to ``max_unpacked_bytes``; loading an artifact accepted before passes None.
    """
    if fmt is ArtifactFormat.PICKLE and not allow_pickle:
        raise ArtifactRejected(
            "pickle_not_allowed", f"The file is a pickle (pickle, joblib or cloudpickle): {PICKLE_ADVICE}."
        )
    if fmt in (ArtifactFormat.SKOPS, ArtifactFormat.MLFLOW):
        check_archive(path, max_unpacked_bytes=max_unpacked_bytes)
    if fmt is ArtifactFormat.SKOPS:
        try:
            found = untrusted_skops_types(path)
        except zipfile.BadZipFile as exc:  # a member whose bytes fail their CRC: damaged in transit, or altered
            raise ArtifactRejected("corrupt_archive", f"The zip archive is damaged ({exc}); upload it again.") from exc
        _refuse_untrusted_types(found)
    elif fmt is ArtifactFormat.ONNX:
        import onnx  # deferred: only ONNX uploads need it

        _refuse_onnx_external_data(onnx.load_model(os.fspath(path), load_external_data=False))
    elif fmt is ArtifactFormat.MLFLOW:
        _check_mlflow(path, allow_pickle=allow_pickle)


def _refuse_untrusted_types(untrusted: list[str]) -> None:
    if untrusted:
        raise ArtifactRejected(
            "untrusted_types",
            f"The skops file contains types outside the trusted list: {', '.join(untrusted)}. Only data-only "
            "scikit-learn, XGBoost and LightGBM types are loaded; export the model with ONNX, or ask for the "
            "types to be reviewed and added to registry/trusted_types.py.",
        )


def _check_mlflow(path: StrPath, *, allow_pickle: bool) -> None:
    with zipfile.ZipFile(path) as archive:
        root, mlmodel = read_mlmodel(archive)
        native = native_mlflow_flavor(archive, root, mlmodel)
        if native is None:
            if not allow_pickle:
                raise _unsafe_flavor(mlmodel)
            return
        if native.format is ArtifactFormat.SKOPS:
            _refuse_untrusted_types(untrusted_skops_types(archive.read(native.member)))
        elif native.format is ArtifactFormat.ONNX:
            _check_mlflow_onnx(archive, root, native.member)


def _unsafe_flavor(mlmodel: dict[str, Any]) -> ArtifactRejected:
    flavors = mlmodel["flavors"]
    described = ", ".join(_describe_flavor(name, conf) for name, conf in flavors.items()) or "none"
    return ArtifactRejected(
        "unsafe_mlflow_flavor",
        f"The MLflow model's flavors ({described}) load by unpickling or by running the model's own code. "
        "Save it with a flavor that loads as data: mlflow.sklearn.save_model(..., serialization_format='skops'), "
        "mlflow.xgboost, mlflow.lightgbm or mlflow.onnx; or ask the administrator to set ALLOW_PICKLE_ARTIFACTS.",
    )


def _describe_flavor(name: str, config: Any) -> str:
    config = config if isinstance(config, dict) else {}
    for key in ("serialization_format", "loader_module"):
        if isinstance(config.get(key), str):
            return f"{name} ({key}={config[key]})"
    return name


def _check_mlflow_onnx(archive: zipfile.ZipFile, root: str, member: str) -> None:
    import onnx  # deferred: only ONNX models need it

    model = onnx.load_model_from_string(archive.read(member))
    folder = posixpath.dirname(member)
    names = set(archive.namelist())
    for location in onnx_external_locations(model):
        target = posixpath.normpath(posixpath.join(folder, location))
        if location.startswith("/") or not target.startswith(root) or target not in names:
            raise _unsafe_archive(f"the ONNX model refers to external data {location!r} outside the model folder")

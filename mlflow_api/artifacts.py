"""A version's stored artifact as the files MLflow's client downloads: the model directory of an MLflow model
(stored as a zip), or the one model file of any other format. Read-only; the stored bytes never change."""

import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from core import blobs
from core.errors import DomainError
from registry.models import ModelVersion

_FILE_NAMES = {"skops": "model.skops", "onnx": "model.onnx", "lightgbm": "model.txt", "pickle": "model.pkl"}


@dataclass(frozen=True)
class ArtifactFiles:
    blob: Path
    archive: bool
    names: dict[str, str]  # path the client sees -> member of the zip (or the blob's own name)
    sizes: dict[str, int]


def artifact_files(version: ModelVersion) -> ArtifactFiles:
    if version.artifact is None:
        raise DomainError("not_found", f"{version} has no artifact.", status_code=404)
    blob = blobs.blob_path(settings.ARTIFACT_ROOT, version.artifact.sha256)
    if version.artifact.format != "mlflow":
        name = _FILE_NAMES.get(version.artifact.format) or _xgboost_name(blob)
        return ArtifactFiles(blob, False, {name: name}, {name: version.artifact.size})
    with zipfile.ZipFile(blob) as archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
    top = _single_top_folder([info.filename for info in members])
    names = {info.filename.removeprefix(top): info.filename for info in members}
    return ArtifactFiles(blob, True, names, {info.filename.removeprefix(top): info.file_size for info in members})


def _xgboost_name(blob: Path) -> str:
    # XGBoost saves JSON (an object) or UBJSON; the file's first byte tells which.
    with blob.open("rb") as handle:
        return "model.json" if handle.read(1) == b"{" else "model.ubj"


def _single_top_folder(paths: list[str]) -> str:
    # An uploaded zip may keep the model directory in one top folder; the client sees its contents.
    if "MLmodel" in paths:
        return ""
    tops = {path.split("/", 1)[0] for path in paths}
    return f"{tops.pop()}/" if len(tops) == 1 and all("/" in path for path in paths) else ""


def listing(files: ArtifactFiles, folder: str) -> list[dict]:
    """The entries directly inside a folder ("" for the root), as MLflow's artifact listing gives them."""
    prefix = f"{folder}/" if folder else ""
    entries: dict[str, dict] = {}
    for path, size in files.sizes.items():
        if not path.startswith(prefix):
            continue
        head, _, rest = path.removeprefix(prefix).partition("/")
        entries[head] = {"path": head, "is_dir": True} if rest else {"path": head, "is_dir": False, "file_size": size}
    if not entries and folder in files.sizes:  # a file listed as itself, as MLflow's server does
        name = posixpath.basename(folder)
        return [{"path": name, "is_dir": False, "file_size": files.sizes[folder]}]
    return [entries[name] for name in sorted(entries)]


def open_file(files: ArtifactFiles, path: str) -> BinaryIO:
    """The file, opened for reading (a member of the zip is read from the zip as it is sent)."""
    if path not in files.names:
        raise DomainError("not_found", f"artifact file {path} not found.", status_code=404)
    if not files.archive:
        return files.blob.open("rb")
    return zipfile.ZipFile(files.blob).open(files.names[path])

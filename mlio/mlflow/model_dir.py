"""The downloaded model directory: fetched refusing symbolic links, checked, zipped reproducibly; Django-free."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from .core import MlflowImportError, _first_line, _redact_uri
from .store import _artifact_allowed, _mlflow_errors

# The earliest timestamp a ZIP can hold; a fixed one keeps the archive's bytes (and hash) stable.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def _download(artifact_uri: str, tracking_uri: str, destination: Path) -> Path:
    from mlflow.artifacts import download_artifacts

    _artifact_allowed(artifact_uri)
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

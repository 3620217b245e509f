"""Zip archives: the MLflow layout, member-name and size checks, safe extraction; Django-free."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path
from typing import IO, Any

import yaml

from .formats import _CHUNK_BYTES, _MAX_MLMODEL_BYTES, MAX_ARCHIVE_MEMBERS, ArtifactRejected, StrPath

# Archives: MLflow layout, member-name and size checks, safe extraction.


def mlflow_root(names: list[str]) -> str | None:
    """The folder prefix ("" or "name/") holding MLmodel, or None when the zip is no MLflow model."""
    names = [name for name in names if not name.startswith("__MACOSX/")]
    if "MLmodel" in names:
        return ""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and f"{next(iter(tops))}/MLmodel" in names:
        return f"{next(iter(tops))}/"
    return None


def check_archive(path: StrPath, *, max_unpacked_bytes: int | None) -> int:
    """Refuse zips that would write outside their folder, link elsewhere, or unpack past the cap; returns the
    size the archive declares it unpacks to. No cap (None) is for an archive accepted before, under one."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise _unsafe_archive(f"it has {len(members)} entries (at most {MAX_ARCHIVE_MEMBERS})")
    for member in members:
        _check_member(member)
    declared = sum(member.file_size for member in members)
    if max_unpacked_bytes is not None and declared > max_unpacked_bytes:
        raise _unsafe_archive(f"it unpacks to {declared} bytes (at most {max_unpacked_bytes})")
    return declared


def _check_member(member: zipfile.ZipInfo) -> None:
    name = member.filename
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts or ":" in parts[0]:
        raise _unsafe_archive(f"the entry {name!r} would be written outside the model's folder")
    if stat.S_ISLNK(member.external_attr >> 16):
        raise _unsafe_archive(f"the entry {name!r} is a symbolic link")


def _unsafe_archive(reason: str) -> ArtifactRejected:
    return ArtifactRejected(
        "unsafe_archive", f"The zip archive is refused: {reason}. Re-create it from the model folder."
    )


def extract_archive(path: StrPath, destination: StrPath, *, max_unpacked_bytes: int | None) -> Path:
    """Unpack a checked zip into ``destination``; the byte cap (or, with None, the size the archive declares)
    is enforced on what is written."""
    declared = check_archive(path, max_unpacked_bytes=max_unpacked_bytes)
    target = Path(destination).resolve()
    budget = [declared if max_unpacked_bytes is None else max_unpacked_bytes]
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            out = (target / member.filename).resolve()
            if not out.is_relative_to(target):
                raise _unsafe_archive(f"the entry {member.filename!r} would be written outside the model's folder")
            if member.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(out, "wb") as sink:
                _copy_capped(source, sink, budget)
    return target


def _copy_capped(source: IO[bytes], sink: IO[bytes], budget: list[int]) -> None:
    # Declared sizes can lie; count what decompression really produces.
    while chunk := source.read(_CHUNK_BYTES):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _unsafe_archive("it unpacks to more bytes than allowed")
        sink.write(chunk)


def read_mlmodel(archive: zipfile.ZipFile) -> tuple[str, dict[str, Any]]:
    """The MLflow model folder prefix inside the zip and its parsed MLmodel file."""
    root = mlflow_root(archive.namelist())
    if root is None:
        raise ArtifactRejected("unknown_format", "The zip archive has no MLmodel file.")
    info = archive.getinfo(f"{root}MLmodel")
    if info.file_size > _MAX_MLMODEL_BYTES:
        raise ArtifactRejected("malformed", "The MLmodel file is too large to be an MLflow model description.")
    try:
        mlmodel = yaml.safe_load(archive.read(info))
    except yaml.YAMLError as exc:
        raise ArtifactRejected("malformed", f"The MLmodel file is not valid YAML: {exc}") from exc
    if not isinstance(mlmodel, dict) or not isinstance(mlmodel.get("flavors"), dict):
        raise ArtifactRejected("malformed", "The MLmodel file does not list the model's flavors.")
    return root, mlmodel

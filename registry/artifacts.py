"""Model artifacts: recognise the format from the bytes, apply the data-only policy, probe a load.

Artifacts are content-addressed by SHA-256. Accepted formats load as data: skops (with our own
trusted-type list), XGBoost and LightGBM native model files, ONNX graphs, and zipped MLflow
model directories whose flavor loads natively. Pickles (pickle, joblib, cloudpickle) run code
when loaded, so they are refused unless the deployment opts in.

Nothing here imports Django: settings arrive as arguments, and the same code runs inside the
probe's child process and in the evidence workers.
"""

from __future__ import annotations

import bz2
import dataclasses
import enum
import hashlib
import lzma
import os
import posixpath
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from registry.trusted_types import untrusted_skops_types

ACCEPTED_FORMATS = (
    "skops (skops.io.dump), XGBoost JSON or UBJSON model files (save_model), LightGBM text model files "
    "(save_model), ONNX graphs, or an MLflow model directory as a zip (MLmodel at its root or in one top folder)"
)
PICKLE_ADVICE = (
    "pickle artifacts run code when loaded; export the model with skops (skops.io.dump), ONNX or the "
    "framework's native format, or ask the administrator to set ALLOW_PICKLE_ARTIFACTS"
)
# A zip may unpack to more than the upload limit (skops arrays compress well), but not without bound.
DEFAULT_MAX_UNPACKED_BYTES = 4 * 2**30
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


# ---------------------------------------------------------------------------------------------
# Format detection: magic bytes first, then enough structure to tell a whole file from a cut one.


def detect_format(path: StrPath) -> ArtifactFormat:
    """The artifact's format, from its bytes alone (file names and content types are not trusted)."""
    head, tail = _read_ends(path)
    if not head:
        raise ArtifactRejected("unknown_format", f"The file is empty. Upload one of: {ACCEPTED_FORMATS}.")
    kind = sniff(head)
    if kind is None:
        raise ArtifactRejected(
            "unknown_format", f"The file is not a recognised model format. Accepted: {ACCEPTED_FORMATS}."
        )
    return _CONFIRM[kind](path, head, tail)


def sniff(head: bytes) -> str | None:
    """The kind of file the first bytes announce: zip, pickle, compressed, xgboost_json, ..."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if _looks_like_onnx(head):  # before zlib, whose two-byte header an ONNX file can match
        return "onnx"
    if _compression(head) is not None:
        return "compressed"
    if re.match(rb'\s*\{\s*"(learner|version)"\s*:', head):
        return "xgboost_json"
    if head[:1] == b"{" and head[1:2] in (b"i", b"U", b"I", b"l", b"L") and re.search(b"learner|version", head[:32]):
        return "xgboost_ubjson"
    if head.startswith((b"tree\nversion=v", b"tree\r\nversion=v")):
        return "lightgbm"
    return None


def _read_ends(path: StrPath) -> tuple[bytes, bytes]:
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
        handle.seek(max(0, os.fstat(handle.fileno()).st_size - _TAIL_BYTES))
        return head, handle.read()


# ModelProto field tags as protobuf writes them, in field order: ir_version (1) comes first,
# then producer_name (2) ... graph (7), opset_import (8), metadata_props (14).
_ONNX_SECOND_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72})


def _looks_like_onnx(head: bytes) -> bool:
    return len(head) > 2 and head[0] == 0x08 and 1 <= head[1] < 0x80 and head[2] in _ONNX_SECOND_TAGS


def _confirm_zip(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise _truncated("zip archive", exc) from exc
    # A hostile layout is the precise reason to refuse, whatever the archive claims to be.
    for member in members:
        _check_member(member)
    names = [member.filename for member in members]
    if "schema.json" in names:
        return ArtifactFormat.SKOPS
    if mlflow_root(names) is not None:
        return ArtifactFormat.MLFLOW
    raise ArtifactRejected(
        "unknown_format",
        "The zip archive is neither a skops file (schema.json at its root) nor a zipped MLflow model "
        f"(an MLmodel file at its root or in one top folder). Accepted: {ACCEPTED_FORMATS}.",
    )


def _confirm_pickle(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    # Every pickle stream ends with the STOP opcode; joblib writes its arrays inside the stream.
    if not tail.endswith(b"."):
        raise _truncated("pickle", "the stream does not end with the STOP opcode")
    return ArtifactFormat.PICKLE


def _confirm_compressed(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    name, inner = _peek_decompressed(path, head)
    if inner is not None and sniff(inner) == "pickle":
        return ArtifactFormat.PICKLE
    raise ArtifactRejected(
        "unknown_format",
        f"The file is {name}-compressed and does not hold a model format we accept uncompressed. "
        f"Upload the model itself, uncompressed: {ACCEPTED_FORMATS}.",
    )


def _confirm_xgboost_json(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    if not tail.rstrip().endswith(b"}"):
        raise _truncated("XGBoost JSON model", "the JSON document is not closed")
    return ArtifactFormat.XGBOOST


def _confirm_xgboost_ubjson(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    if not tail.endswith(b"}"):
        raise _truncated("XGBoost UBJSON model", "the top-level object is not closed")
    return ArtifactFormat.XGBOOST


def _confirm_lightgbm(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    # LightGBM ends the trees with "end of trees" and its saved parameters with "end of parameters".
    if b"end of trees" not in tail and b"end of parameters" not in tail:
        raise _truncated("LightGBM model", "the end-of-trees and end-of-parameters markers are missing")
    return ArtifactFormat.LIGHTGBM


def _confirm_onnx(path: StrPath, head: bytes, tail: bytes) -> ArtifactFormat:
    import onnx  # deferred: only ONNX uploads need it

    try:
        model = onnx.load_model(os.fspath(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, onnx wraps some in its own errors
        raise _truncated("ONNX model", exc) from exc
    # Before the checker, which would go looking for the external files the model names.
    _refuse_onnx_external_data(model)
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # the checker's errors vary by onnx version
        raise ArtifactRejected(
            "malformed", f"The file parses as an ONNX model but the ONNX checker rejects it: {exc}"
        ) from exc
    return ArtifactFormat.ONNX


_CONFIRM: dict[str, Callable[[StrPath, bytes, bytes], ArtifactFormat]] = {
    "zip": _confirm_zip,
    "pickle": _confirm_pickle,
    "compressed": _confirm_compressed,
    "xgboost_json": _confirm_xgboost_json,
    "xgboost_ubjson": _confirm_xgboost_ubjson,
    "lightgbm": _confirm_lightgbm,
    "onnx": _confirm_onnx,
}


def _truncated(kind: str, reason: object) -> ArtifactRejected:
    return ArtifactRejected(
        "truncated", f"The file starts like a {kind} but is incomplete or damaged ({reason}). Upload it again."
    )


def _compression(head: bytes) -> str | None:
    # The compressors joblib offers (zlib, gzip, bz2, xz, lzma, lz4).
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if re.match(rb"BZh[1-9]", head):
        return "bz2"
    if head.startswith(b"\x04\x22\x4d\x18"):
        return "lz4"
    if head.startswith(b"]\x00\x00"):
        return "lzma"
    if len(head) > 1 and head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"
    return None


def _peek_decompressed(path: StrPath, head: bytes) -> tuple[str, bytes | None]:
    """The compressor's name and the first decompressed bytes (None when they cannot be read)."""
    name = _compression(head) or "unknown"
    decompress = _PEEKERS.get(name)
    if decompress is None:
        return name, None
    with open(path, "rb") as handle:
        data = handle.read(64 * 2**10)
    try:
        return name, decompress(data)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
        return name, None


def _peek_lz4(data: bytes) -> bytes | None:
    try:
        import lz4.frame  # optional, like in joblib
    except ImportError:
        return None
    return lz4.frame.LZ4FrameDecompressor().decompress(data, max_length=16)


_PEEKERS: dict[str, Callable[[bytes], bytes | None]] = {
    "gzip": lambda data: zlib.decompressobj(wbits=31).decompress(data, 16),
    "zlib": lambda data: zlib.decompressobj().decompress(data, 16),
    "bz2": lambda data: bz2.BZ2Decompressor().decompress(data, max_length=16),
    "xz": lambda data: lzma.LZMADecompressor().decompress(data, max_length=16),
    "lzma": lambda data: lzma.LZMADecompressor().decompress(data, max_length=16),
    "lz4": _peek_lz4,
}


# ---------------------------------------------------------------------------------------------
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


def check_archive(path: StrPath, *, max_unpacked_bytes: int) -> None:
    """Refuse zips that would write outside their folder, link elsewhere, or unpack without bound."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise _unsafe_archive(f"it has {len(members)} entries (at most {MAX_ARCHIVE_MEMBERS})")
    for member in members:
        _check_member(member)
    declared = sum(member.file_size for member in members)
    if declared > max_unpacked_bytes:
        raise _unsafe_archive(f"it unpacks to {declared} bytes (at most {max_unpacked_bytes})")


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


def extract_archive(path: StrPath, destination: StrPath, *, max_unpacked_bytes: int) -> Path:
    """Unpack a checked zip into ``destination``; the byte cap is enforced on what is written."""
    check_archive(path, max_unpacked_bytes=max_unpacked_bytes)
    target = Path(destination).resolve()
    budget = [max_unpacked_bytes]
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


# ---------------------------------------------------------------------------------------------
# MLflow flavors that load without unpickling: we load their model file with our own loaders.

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


# ---------------------------------------------------------------------------------------------
# Policy.


def check_allowed(
    fmt: ArtifactFormat,
    path: StrPath,
    *,
    allow_pickle: bool,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
) -> None:
    """Refuse formats and contents that would run code when loaded (unless pickles are allowed)."""
    if fmt is ArtifactFormat.PICKLE and not allow_pickle:
        raise ArtifactRejected(
            "pickle_not_allowed", f"The file is a pickle (pickle, joblib or cloudpickle): {PICKLE_ADVICE}."
        )
    if fmt in (ArtifactFormat.SKOPS, ArtifactFormat.MLFLOW):
        check_archive(path, max_unpacked_bytes=max_unpacked_bytes)
    if fmt is ArtifactFormat.SKOPS:
        _refuse_untrusted_types(untrusted_skops_types(path))
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


def _refuse_onnx_external_data(model: Any) -> None:
    if onnx_external_locations(model):
        raise ArtifactRejected(
            "onnx_external_data",
            "The ONNX model keeps tensors in external files, which an upload cannot carry. Save it as one file: "
            "onnx.save_model(model, path, save_as_external_data=False).",
        )


def onnx_external_locations(model: Any) -> list[str]:
    """The external-data file names an ONNX model refers to (empty for a self-contained model)."""
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    return [ExternalDataInfo(t).location for t in _onnx_tensors(model) if uses_external_data(t)]


def _onnx_tensors(model: Any) -> Iterator[Any]:
    graphs = [model.graph, *model.functions]
    while graphs:
        graph = graphs.pop()
        yield from getattr(graph, "initializer", ())
        for sparse in getattr(graph, "sparse_initializer", ()):
            yield from (sparse.values, sparse.indices)
        for attribute in (a for node in graph.node for a in node.attribute):
            yield from (*([attribute.t] if attribute.HasField("t") else []), *attribute.tensors)
            graphs.extend([attribute.g] if attribute.HasField("g") else [])
            graphs.extend(attribute.graphs)


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


# ---------------------------------------------------------------------------------------------
# The whole acceptance check.


def validate_artifact(
    path: StrPath,
    *,
    max_bytes: int,
    allow_pickle: bool,
    sample_csv: str | None,
    feature_names: list[str] | None,
    timeout_s: float,
    memory_mb: int,
) -> ArtifactReport:
    """Accept an uploaded artifact or raise ArtifactRejected saying why and what to do instead.

    The load-and-predict probe runs in a child process with memory and time limits: a crafted file
    can crash the process that loads it.
    """
    from registry.sandbox import probe  # the sandbox imports this module

    size = os.path.getsize(path)
    if size > max_bytes:
        raise ArtifactRejected(
            "too_large", f"The file has {size} bytes; the limit is {max_bytes} (MAX_ARTIFACT_BYTES)."
        )
    sha256 = sha256_file(path)
    fmt = detect_format(path)
    check_allowed(fmt, path, allow_pickle=allow_pickle)
    answer = probe(
        path,
        fmt,
        expected_sha256=sha256,
        allow_pickle=allow_pickle,
        sample_csv=sample_csv,
        feature_names=feature_names,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
    )
    return _report(fmt, sha256, size, answer)


def _report(fmt: ArtifactFormat, sha256: str, size: int, answer: dict[str, Any]) -> ArtifactReport:
    model = answer["model"]
    sample = answer.get("sample") or {}
    return ArtifactReport(
        format=fmt,
        sha256=sha256,
        size=size,
        framework=model.get("framework"),
        framework_version=model.get("framework_version"),
        flavor=model.get("flavor"),
        model_class=model.get("model_class"),
        n_features=model.get("n_features"),
        feature_names=model.get("feature_names"),
        classes=model.get("classes"),
        has_predict_proba=bool(model.get("has_predict_proba")),
        sample_predictions=int(sample.get("n_predictions", 0)),
        details={**model.get("details", {}), **({"sample": sample} if sample else {})},
    )

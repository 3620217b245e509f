"""Format detection from the bytes alone: magic bytes, then a check for whole files; Django-free."""

from __future__ import annotations

import bz2
import lzma
import os
import re
import zipfile
import zlib
from collections.abc import Callable

from .archives import _check_member, mlflow_root
from .formats import _HEAD_BYTES, _TAIL_BYTES, ACCEPTED_FORMATS, ArtifactFormat, ArtifactRejected, StrPath
from .onnx_data import _refuse_onnx_external_data

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

"""The whole acceptance check of an uploaded artifact: the data-only policy, then the sandboxed load probe.

Django-free, like mlio.artifacts: settings arrive as arguments.

A probe's answer depends only on the bytes, the sample, the feature names and the limits, so an accepted
answer is kept per process under the digests of all of them: registering the same bytes again (a retry
with other metadata, the same model under another name) does not start another child. Refusals are never
kept; they are probed again.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from typing import Any

from mlio.artifacts import (
    DEFAULT_UNPACKED_RATIO,
    ArtifactFormat,
    ArtifactRejected,
    ArtifactReport,
    StrPath,
    check_allowed,
    detect_format,
    sha256_file,
)


def validate_artifact(
    path: StrPath,
    *,
    max_bytes: int,
    allow_pickle: bool,
    sample_csv: str | None,
    feature_names: list[str] | None,
    timeout_s: float,
    memory_mb: int,
    unpacked_ratio: int = DEFAULT_UNPACKED_RATIO,
) -> ArtifactReport:
    """Accept an uploaded artifact or raise ArtifactRejected saying why and what to do instead.

    The load-and-predict probe runs in a child process with memory and time limits: a crafted file
    can crash the process that loads it. An archive may unpack to `unpacked_ratio` times `max_bytes`.
    """
    from mlio.sandbox import probe  # imported on use, as before the split

    size = os.path.getsize(path)
    if size > max_bytes:
        raise ArtifactRejected(
            "too_large", f"The file has {size} bytes; the limit is {max_bytes} (MAX_ARTIFACT_BYTES)."
        )
    sha256 = sha256_file(path)
    fmt = detect_format(path)
    check_allowed(fmt, path, allow_pickle=allow_pickle, max_unpacked_bytes=max_bytes * unpacked_ratio)
    key = (sha256, fmt.value, allow_pickle, sample_csv and sha256_file(sample_csv), feature_names, timeout_s, memory_mb)
    answer = _accepted(key)
    if answer is None:
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
        _accept(key, answer)
    return _report(fmt, sha256, size, answer)


_ACCEPTED: OrderedDict[str, dict[str, Any]] = OrderedDict()
_ACCEPTED_MAX = 64
_LOCK = threading.Lock()


def _accepted(key: tuple) -> dict[str, Any] | None:
    with _LOCK:
        answer = _ACCEPTED.get(repr(key))
        if answer is not None:
            _ACCEPTED.move_to_end(repr(key))
        return copy.deepcopy(answer)


def _accept(key: tuple, answer: dict[str, Any]) -> None:
    with _LOCK:
        _ACCEPTED[repr(key)] = copy.deepcopy(answer)
        while len(_ACCEPTED) > _ACCEPTED_MAX:
            _ACCEPTED.popitem(last=False)


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

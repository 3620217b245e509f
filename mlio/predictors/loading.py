"""``load_predictor``: the digest and data-only checks, then the loader for the artifact's format
(pickles included, when allowed). Django-free; frameworks are imported only by their loaders."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlio.artifacts import (
    ArtifactFormat,
    ArtifactRejected,
    StrPath,
    check_allowed,
    sha256_file,
)
from mlio.trusted_types import UnsafeModelContent

from .base import Predictor, _public_name
from .boosters import LightGBMPredictor, XGBoostPredictor, _load_lightgbm, _load_xgboost
from .mlflow_models import _load_mlflow
from .onnx_graphs import _load_onnx
from .scikit_learn import SklearnPredictor, _load_skops


def load_predictor(path: StrPath, fmt: ArtifactFormat, *, expected_sha256: str, allow_pickle: bool) -> Predictor:
    """Load an accepted artifact; the file must still have the digest it was accepted with."""
    actual = sha256_file(path)
    if actual != expected_sha256.lower():
        raise ArtifactRejected(
            "digest_mismatch",
            f"The artifact's SHA-256 is {actual}, not the recorded {expected_sha256}: the stored file changed. "
            "It is not loaded; upload the model again.",
        )
    check_allowed(fmt, path, allow_pickle=allow_pickle)
    try:
        return _LOADERS[fmt](Path(path), allow_pickle)
    except (ArtifactRejected, MemoryError):
        raise
    except UnsafeModelContent as exc:
        raise ArtifactRejected("malformed", f"The model's content is unsafe to run: {exc}.") from exc
    except Exception as exc:  # any loader failure means the artifact does not load
        raise ArtifactRejected(
            "load_failed", f"The {fmt.value} artifact does not load: {type(exc).__name__}: {exc}"
        ) from exc


def _load_pickle(path: Path, allow_pickle: bool) -> Predictor:
    if not allow_pickle:
        raise ArtifactRejected("pickle_not_allowed", "Pickle artifacts are not allowed in this deployment.")
    import joblib  # reads plain pickles, cloudpickles and joblib's compressed files

    return _wrap(joblib.load(path))


def _wrap(model: Any) -> Predictor:
    xgboost, lightgbm = sys.modules.get("xgboost"), sys.modules.get("lightgbm")
    if xgboost is not None and isinstance(model, xgboost.Booster):
        return XGBoostPredictor(model)
    if lightgbm is not None and isinstance(model, lightgbm.Booster):
        return LightGBMPredictor(model)
    if callable(getattr(model, "predict", None)):
        return SklearnPredictor(model)
    raise ArtifactRejected(
        "load_failed", f"The artifact holds a {_public_name(type(model))}, not a model with predict()."
    )


_LOADERS: dict[ArtifactFormat, Callable[[Path, bool], Predictor]] = {
    ArtifactFormat.SKOPS: _load_skops,
    ArtifactFormat.XGBOOST: _load_xgboost,
    ArtifactFormat.LIGHTGBM: _load_lightgbm,
    ArtifactFormat.ONNX: _load_onnx,
    ArtifactFormat.MLFLOW: _load_mlflow,
    ArtifactFormat.PICKLE: _load_pickle,
}

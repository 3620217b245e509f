"""A registered model's predictions on a data set, computed in a confined child (mlio.confinement).

Django-free. The parent (a bias audit, a monitoring window) hands over the artifact and the feature
columns; the child loads the model (checking its digest), predicts, and writes the predictions and, when
asked, the class probabilities to files: numeric arrays as .npy (every bit as computed), labels of another
kind as a JSON list. ``python -m mlio.evaluation`` is the child.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlio.confinement import EvaluationLimits, child_main, evaluation

MODULE = "mlio.evaluation"
# What the fork server (mlio.forkserver) imports once before forking children of this module: the data
# stack and the frameworks that load as data. onnxruntime is left to the child: importing it starts a thread.
WARM_IMPORTS = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "skops.io",
    "xgboost",
    "lightgbm",
    "mlflow.pyfunc",
    "mlio.predictors",
)


@dataclass(frozen=True)
class ArtifactRef:
    """What the child needs to load a registered artifact and check that it is still the one registered."""

    path: str
    format: str
    sha256: str
    allow_pickle: bool

    def as_request(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "sha256": self.sha256, "allow_pickle": self.allow_pickle}


@dataclass
class Predictions:
    predictions: Any
    probabilities: Any  # None when the model gives none, or they were not asked for
    classes: list | None


def predict_confined(
    artifact: ArtifactRef, features: Any, *, probabilities: bool, limits: EvaluationLimits, source: str
) -> Predictions:
    """The model's predictions on the rows of ``features`` (aligned to the model's own columns in the child)."""
    import numpy as np

    with evaluation() as work:
        features.to_parquet(work.inputs / "features.parquet")
        request = {"operation": "predict", "artifact": artifact.as_request(), "probabilities": probabilities}
        answer = work.run(MODULE, request, limits=limits, rows=len(features), source=source)
        predictions = read_array(work.outputs, "predictions")
        proba = np.load(work.outputs / "probabilities.npy") if answer.get("probabilities") else None
    return Predictions(predictions, proba, answer.get("classes"))


def write_array(folder: Path, name: str, values: Any) -> None:
    import numpy as np

    array = np.asarray(values)
    if array.dtype.kind in "biufc":
        np.save(folder / f"{name}.npy", array, allow_pickle=False)
    else:  # text labels (or a mix): JSON keeps each value as the model returned it
        (folder / f"{name}.json").write_text(json.dumps(array.tolist()), encoding="utf-8")


def read_array(folder: Path, name: str) -> Any:
    import numpy as np

    numeric = folder / f"{name}.npy"
    if numeric.exists():
        return np.load(numeric, allow_pickle=False)
    values = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def load_artifact(request: dict[str, Any]):
    """In the child: the registered artifact, loaded only if its bytes still have the registered digest."""
    from mlio.artifacts import ArtifactFormat
    from mlio.predictors import load_predictor

    ref = request["artifact"]
    return load_predictor(
        ref["path"], ArtifactFormat(ref["format"]), expected_sha256=ref["sha256"], allow_pickle=ref["allow_pickle"]
    )


def _predict(request: dict[str, Any], root: Path) -> dict[str, Any]:
    import pandas as pd

    predictor = load_artifact(request)
    features = predictor.align(pd.read_parquet(root / "in" / "features.parquet"))
    write_array(root / "out", "predictions", predictor.predict(features))
    answer: dict[str, Any] = {"classes": predictor.classes, "probabilities": False}
    if request["probabilities"]:
        proba = predictor.predict_proba(features)
        if proba is not None:
            write_array(root / "out", "probabilities", proba)
            answer["probabilities"] = True
    return answer


if __name__ == "__main__":
    sys.exit(child_main({"predict": _predict}))

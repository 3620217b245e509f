"""Explanations computed in a confined child (mlio.confinement): the model is loaded and queried there only.

Django-free. SHAP's explainers call into the model itself (a tree's structure, a booster's own
``pred_contrib``), so the whole explanation of a set of rows runs in the child: the choice of explainer,
the background, SHAP on the rows and LIME beside it; the parent stores what comes back and draws the
charts. The numbers are those of the same functions run in-process: the rows travel as Parquet (index
labels, dtypes and every float bit kept), SHAP values as .npy. ``python -m evidence.explain.confined`` is
the child.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlio.confinement import EvaluationFailed, EvaluationLimits, child_main, evaluation
from mlio.evaluation import WARM_IMPORTS as EVALUATION_IMPORTS
from mlio.evaluation import ArtifactRef, load_artifact

MODULE = "evidence.explain.confined"
WARM_IMPORTS = (*EVALUATION_IMPORTS, "shap", "lime.lime_tabular", "evidence.explain")  # see mlio.forkserver
LIME_TRAIN_ROWS = 2000  # LIME's perturbation statistics come from the data set's first rows


@dataclass
class Explained:
    choice: dict[str, Any]
    background: Any  # DataFrame, or None when the explainer needs none
    shap: bytes | None  # ShapChunk.to_bytes() of the rows, when asked for
    lime: dict[str, Any] | None


def explain_confined(
    artifact: ArtifactRef,
    frame: Any,
    rows: Any,
    *,
    label: Any,
    shap: bool,
    lime_rows: int | None,
    limits: EvaluationLimits,
    source: str,
) -> Explained:
    """The explainer chosen for the model, its background, SHAP on ``rows`` (if ``shap``) and LIME on the first
    ``lime_rows`` of them (None: no LIME). A model that cannot be explained raises EvaluationFailed saying why."""
    import pandas as pd

    with evaluation() as work:
        frame.to_parquet(work.inputs / "frame.parquet")
        rows.to_parquet(work.inputs / "rows.parquet")
        request = {
            "operation": "explain",
            "artifact": artifact.as_request(),
            "label": label,
            "shap": shap,
            "lime_rows": lime_rows,
        }
        answer = work.run(MODULE, request, limits=limits, rows=len(rows), source=source)
        background = pd.read_parquet(work.outputs / "background.parquet") if answer["background"] else None
        values = (work.outputs / "shap.npz").read_bytes() if shap else None
    return Explained(answer["choice"], background, values, answer["lime"])


def shap_chunk_confined(
    artifact: ArtifactRef, rows: Any, background: Any, *, label: Any, limits: EvaluationLimits, source: str
) -> bytes:
    """SHAP on one chunk of rows, as ShapChunk.to_bytes()."""
    with evaluation() as work:
        rows.to_parquet(work.inputs / "rows.parquet")
        if background is not None:
            background.to_parquet(work.inputs / "background.parquet")
        request = {"operation": "shap_chunk", "artifact": artifact.as_request(), "label": label}
        work.run(MODULE, request, limits=limits, rows=len(rows), source=source)
        return (work.outputs / "shap.npz").read_bytes()


# ---------------------------------------------------------------------------------------------
# Child side.


def _explain(request: dict[str, Any], root: Path) -> dict[str, Any]:
    import pandas as pd

    from evidence import explain

    predictor = load_artifact(request)
    frame = pd.read_parquet(root / "in" / "frame.parquet")
    rows = pd.read_parquet(root / "in" / "rows.parquet")
    label = request["label"]
    with _explanation_errors():
        choice = explain.choose_explainer(predictor, class_label=label, background=False)
        background = explain.summarise_background(frame) if choice.needs_background else None
        if request["shap"]:
            (root / "out" / "shap.npz").write_bytes(explain.shap_chunk(predictor, rows, choice, background).to_bytes())
        lime = None
        if request["lime_rows"] is not None:
            lime = _lime(predictor, frame, rows.head(request["lime_rows"]), choice, label, background)
    if background is not None:
        background.to_parquet(root / "out" / "background.parquet")
    return {"choice": choice.to_dict(), "background": background is not None, "lime": lime}


def _shap_chunk(request: dict[str, Any], root: Path) -> dict[str, Any]:
    import pandas as pd

    from evidence import explain

    predictor = load_artifact(request)
    rows = pd.read_parquet(root / "in" / "rows.parquet")
    stored = root / "in" / "background.parquet"
    background = pd.read_parquet(stored) if stored.exists() else None
    with _explanation_errors():
        choice = explain.choose_explainer(predictor, class_label=request["label"])
        (root / "out" / "shap.npz").write_bytes(explain.shap_chunk(predictor, rows, choice, background).to_bytes())
    return {}


@contextlib.contextmanager
def _explanation_errors() -> Iterator[None]:
    """The explainers' refusals, as the message the job fails with."""
    from evidence import explain

    try:
        yield
    except explain.ExplanationUnavailable as exc:
        raise EvaluationFailed(f"{explain.NOT_EXPLAINABLE}: {exc}") from exc
    except explain.ExplanationInputError as exc:
        raise EvaluationFailed(str(exc)) from exc


def _lime(predictor, frame, picked, choice, label, background) -> dict | None:
    """LIME on a few rows beside SHAP on the same rows: their disagreement is itself evidence."""
    import pandas as pd

    from evidence import explain

    if picked.empty:
        return None
    try:
        lime = explain.lime_rows(predictor, frame.head(LIME_TRAIN_ROWS), picked, seed=0, class_label=label)
    except explain.ExplanationUnavailable as exc:
        return {"unavailable": str(exc)}
    chunk = explain.shap_chunk(predictor, picked, choice, background)
    shap_values = pd.DataFrame(chunk.values, index=chunk.index, columns=chunk.feature_names)
    return {"rows": lime, "agreement": explain.lime_shap_agreement(lime, shap_values)}


if __name__ == "__main__":
    sys.exit(child_main({"explain": _explain, "shap_chunk": _shap_chunk}))

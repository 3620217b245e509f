"""Compile the Tree SHAP kernels into numba's cache before a worker needs them. Django-free.

The kernels (tree_paths, tree_shap) are compiled by numba on their first call and kept in its cache (the
source folder's ``__pycache__``, or ``NUMBA_CACHE_DIR`` where that folder is read-only, as in the image).
A confined child that finds them there loads them in milliseconds; one that does not compiles them first,
which costs seconds (see docs/benchmarks.md, "Cold start"). ``python -m evidence.explain.warm`` explains a
small forest both ways the service does (path-dependent and against a background, classifier and
regressor), so that every kernel signature the service uses is compiled; the Dockerfile runs it at build
time and `make demo` before it serves.
"""

from __future__ import annotations

import sys
import time


def warm() -> float:
    """Seconds it took to explain the small forests (compiling whatever the cache did not hold)."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    from evidence import explain
    from mlio.predictors import SklearnPredictor

    started = time.perf_counter()
    rows = pd.DataFrame(np.random.default_rng(0).normal(size=(64, 3)), columns=["a", "b", "c"])
    target = rows["a"] + rows["b"] > 0
    for model in (
        RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(rows, target),
        RandomForestRegressor(n_estimators=3, max_depth=3, random_state=0).fit(rows, rows["a"]),
    ):
        predictor = SklearnPredictor(model)
        for background in (False, True):
            choice = explain.choose_explainer(predictor, background=background)
            explain.shap_chunk(predictor, rows.head(8), choice, rows if choice.needs_background else None)
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"Tree SHAP kernels ready in numba's cache ({warm():.1f} s).", file=sys.stderr)

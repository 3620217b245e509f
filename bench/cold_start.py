"""What a confined evaluation costs on a cold worker and on a warm one.

    .venv/bin/python -m bench.cold_start [--rounds 5]

Two figures, each against its baseline in the same run, sides interleaved round by round:

1. One evaluation of a registered model (predictions of a 100-tree forest on 2,000 rows, and an explanation
   of 200 of them), its child forked from the warm fork server (mlio.forkserver) against the same child
   spawned as a fresh interpreter (EVALUATION_FORK_SERVER=false). Both children run under the same limits.
2. The first explanation in a child that finds the Tree SHAP kernels in numba's cache against one that must
   compile them (an empty NUMBA_CACHE_DIR each round): what `python -m evidence.explain.warm` at image build
   time and in `make demo` saves a fresh worker.

Prints seconds per side, per-round ratios (min and median). Asserts nothing.
"""

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _forest_artifact(folder: Path):
    import numpy as np
    import pandas as pd
    import skops.io
    from sklearn.ensemble import RandomForestClassifier

    from mlio.evaluation import ArtifactRef

    features = pd.DataFrame(np.random.default_rng(0).normal(size=(2000, 20)), columns=[f"f{i}" for i in range(20)])
    model = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=1)
    model.fit(features, features["f0"] + features["f1"] > 0)
    path = folder / "forest.skops"
    skops.io.dump(model, path)
    return ArtifactRef(str(path), "skops", hashlib.sha256(path.read_bytes()).hexdigest(), False), features


def _one_evaluation(artifact, features) -> float:
    from evidence.explain.confined import explain_confined
    from mlio.confinement import EvaluationLimits
    from mlio.evaluation import predict_confined

    started = time.perf_counter()
    limits = EvaluationLimits()
    predict_confined(artifact, features, probabilities=True, limits=limits, source="bench")
    explain_confined(
        artifact, features, features.head(200), label=True, shap=True, lime_rows=None, limits=limits, source="bench"
    )
    return time.perf_counter() - started


def _first_explanation(cache: str) -> float:
    """A fresh interpreter's first Tree SHAP explanation (the warm-up module), with the given numba cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    code = "from evidence.explain.warm import warm; print(warm())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def _report(title: str, baseline: str, measured: str, pairs: list[tuple[float, float]]) -> None:
    ratios = [base / value for value, base in pairs]
    print(f"\n{title}")
    print(f"  {measured:<34} median {statistics.median(v for v, _ in pairs):7.2f} s")
    print(f"  {baseline:<34} median {statistics.median(b for _, b in pairs):7.2f} s")
    print(f"  speed-up per round: min {min(ratios):.1f}x, median {statistics.median(ratios):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from mlio import confinement

    with tempfile.TemporaryDirectory() as folder:
        artifact, features = _forest_artifact(Path(folder))
        confinement.use_fork_server(True)
        _one_evaluation(artifact, features)  # starts the fork server and warms it: a worker's first job pays this
        pairs = []
        for _ in range(args.rounds):
            confinement.use_fork_server(True)
            forked = _one_evaluation(artifact, features)
            confinement.use_fork_server(False)
            pairs.append((forked, _one_evaluation(artifact, features)))
        _report(
            "One evaluation (predict 2,000 rows + explain 200)", "spawned child", "forked from the warm server", pairs
        )

        warm_cache = str(Path(folder) / "numba-warm")
        _first_explanation(warm_cache)  # fills it
        pairs = []
        for round_number in range(args.rounds):
            cold = _first_explanation(str(Path(folder) / f"numba-cold-{round_number}"))
            pairs.append((_first_explanation(warm_cache), cold))
        _report("First Tree SHAP explanation in a fresh interpreter", "kernels compiled", "kernels from cache", pairs)


if __name__ == "__main__":
    main()

"""Load an artifact and predict on a sample in a child process of its own.

A crafted model file can crash, hang or exhaust the process that loads it, so the acceptance
probe runs ``python -m mlio.sandbox`` with address-space and CPU limits, a wall-clock
timeout and a minimal environment (no Django, no service secrets): the mechanics of
mlio.confinement, which every later evaluation of the model shares. The child answers with one
JSON object on its original stdout; everything libraries print goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from mlio import evaluation
from mlio.artifacts import ArtifactFormat, ArtifactRejected
from mlio.confinement import child_environment, run_module_limited

__all__ = ["child_environment", "probe", "run_probe"]

SAMPLE_PREVIEW_ROWS = 5
WARM_IMPORTS = evaluation.WARM_IMPORTS  # what the fork server imports before forking probes (mlio.forkserver)


# ---------------------------------------------------------------------------------------------
# Parent side.


def probe(
    path: str | os.PathLike[str],
    fmt: ArtifactFormat,
    *,
    expected_sha256: str,
    allow_pickle: bool,
    sample_csv: str | None,
    timeout_s: float,
    memory_mb: int,
    feature_names: list[str] | None = None,
) -> dict[str, Any]:
    """Run the load-and-predict probe in a limited child; its answer, or ArtifactRejected."""
    args = ["--path", str(Path(path).resolve())]
    args += ["--format", fmt.value, "--sha256", expected_sha256, "--memory-mb", str(memory_mb)]
    args += ["--allow-pickle"] if allow_pickle else []
    args += ["--sample", str(Path(sample_csv).resolve())] if sample_csv else []
    args += ["--feature-names", json.dumps(feature_names)] if feature_names is not None else []
    with tempfile.TemporaryDirectory(prefix="verity-probe-") as workdir:
        ended = run_module_limited(
            "mlio.sandbox",
            args,
            Path(workdir),
            cpu_seconds=math.ceil(timeout_s) + 1,
            memory_mb=memory_mb,
            wall_seconds=timeout_s,
        )
    returncode, answer, stderr = ended.returncode, ended.answer, ended.stderr
    if answer is None:
        raise _child_failure(returncode, stderr, timeout_s=timeout_s, memory_mb=memory_mb)
    if not answer.get("ok"):
        raise ArtifactRejected(str(answer.get("code", "load_failed")), str(answer.get("message", "")))
    return answer


def _child_failure(returncode: int | None, stderr: str, *, timeout_s: float, memory_mb: int) -> ArtifactRejected:
    if returncode is None or returncode == -signal.SIGXCPU:
        return ArtifactRejected(
            "timeout",
            f"Loading the model and predicting on the sample took longer than {timeout_s:g} s; it was stopped.",
        )
    last_line = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if "MemoryError" in stderr:
        return _memory_exceeded(memory_mb)
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return ArtifactRejected(
            "crashed", f"The process loading the model was killed by {name}: the file crashes the loader. {last_line}"
        )
    return ArtifactRejected(
        "crashed", f"The process loading the model exited with status {returncode} without an answer. {last_line}"
    )


def _memory_exceeded(memory_mb: int) -> ArtifactRejected:
    return ArtifactRejected(
        "memory_exceeded",
        f"Loading the model and predicting on the sample needs more than {memory_mb} MB (ARTIFACT_PROBE_MEMORY_MB).",
    )


# ---------------------------------------------------------------------------------------------
# Child side: python -m mlio.sandbox --path ... --format ... --sha256 ...


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # The answer gets the real stdout; libraries that print (LightGBM does) write to stderr instead.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        answer: dict[str, Any] = {"ok": True, **run_probe(args)}
    except ArtifactRejected as exc:
        answer = {"ok": False, "code": exc.code, "message": exc.message}
    except MemoryError:
        rejected = _memory_exceeded(args.memory_mb)
        answer = {"ok": False, "code": rejected.code, "message": rejected.message}
    except Exception as exc:  # load_predictor wraps loader errors; this catches the rest
        answer = {
            "ok": False,
            "code": "load_failed",
            "message": f"The model does not load: {type(exc).__name__}: {exc}",
        }
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        json.dump(answer, out, default=str)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlio.sandbox", description=__doc__)
    parser.add_argument("--path", required=True)
    parser.add_argument("--format", required=True, choices=[fmt.value for fmt in ArtifactFormat])
    parser.add_argument("--sha256", required=True)
    parser.add_argument("--allow-pickle", action="store_true")
    parser.add_argument("--sample")
    parser.add_argument("--feature-names", type=json.loads)
    parser.add_argument("--memory-mb", type=int, default=0, help="the parent's limit, quoted in messages")
    return parser.parse_args(argv)


def run_probe(args: argparse.Namespace) -> dict[str, Any]:
    from mlio.predictors import load_predictor  # the parent never needs the frameworks

    predictor = load_predictor(
        args.path, ArtifactFormat(args.format), expected_sha256=args.sha256, allow_pickle=args.allow_pickle
    )
    model = predictor.describe()
    if args.feature_names is not None:
        _check_declared_features(predictor, list(args.feature_names))
    answer: dict[str, Any] = {"model": model}
    if args.sample:
        answer["sample"] = _predict_sample(predictor, args.sample, args.feature_names)
    return answer


def _check_declared_features(predictor: Any, declared: list[str]) -> None:
    if predictor.feature_names is not None:
        missing = [name for name in predictor.feature_names if name not in declared]
        extra = [name for name in declared if name not in predictor.feature_names]
        if missing or extra:
            raise ArtifactRejected(
                "feature_mismatch",
                f"The declared features differ from the ones the model was trained on: "
                f"the model also needs {missing or 'nothing'}; it does not know {extra or 'nothing'}.",
            )
    elif predictor.n_features is not None and predictor.n_features != len(declared):
        raise ArtifactRejected(
            "feature_mismatch", f"{len(declared)} features are declared; the model takes {predictor.n_features}."
        )


def _predict_sample(predictor: Any, sample_csv: str, declared: list[str] | None) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    try:
        sample = pd.read_csv(sample_csv)
    except (OSError, ValueError) as exc:
        raise ArtifactRejected("predict_failed", f"The sample CSV cannot be read: {exc}") from exc
    sample = _sample_columns(predictor, sample, declared)
    try:
        predictions = np.asarray(predictor.predict(sample))
        probabilities = predictor.predict_proba(sample)
    except ArtifactRejected:
        raise
    except Exception as exc:  # whatever the framework raises, the sample does not predict
        raise ArtifactRejected("predict_failed", f"The model does not predict on the sample: {exc}") from exc
    if len(predictions) != len(sample):
        raise ArtifactRejected(
            "predict_failed", f"The model returned {len(predictions)} predictions for {len(sample)} sample rows."
        )
    preview = {"n_predictions": len(predictions), "first_predictions": predictions[:SAMPLE_PREVIEW_ROWS].tolist()}
    if probabilities is not None:
        preview["first_probabilities"] = np.asarray(probabilities)[:SAMPLE_PREVIEW_ROWS].tolist()
    return preview


def _sample_columns(predictor: Any, sample: Any, declared: list[str] | None) -> Any:
    names = [str(name) for name in sample.columns]
    expected = predictor.feature_names or declared
    if expected is not None:
        missing = [name for name in expected if name not in names]
        extra = [name for name in names if name not in expected]
        if missing or extra:
            raise ArtifactRejected(
                "predict_failed",
                "The sample's columns do not match the model's features: "
                f"missing {missing or 'none'}; not used by the model {extra or 'none'}.",
            )
        return sample[expected]
    if predictor.n_features is not None and len(names) != predictor.n_features:
        raise ArtifactRejected(
            "predict_failed", f"The sample has {len(names)} columns; the model takes {predictor.n_features} features."
        )
    return sample


if __name__ == "__main__":
    sys.exit(main())

"""The monitors run on one window of production rows, and the alerts they raise. Django-free: no ORM, no
settings; the policy's rules come in as ``Rules``.

- feature_drift: PSI of each input feature against the drift reference (evidence.drift); alerts when any
  feature's PSI reaches ``psi_alert`` in a window of at least ``min_rows`` rows. A reference below
  ``min_rows`` is judged apart: it alerts on a shift its test shows beyond chance, never vouches for
  stability, and the reason says which side was short.
- prediction_drift: the same comparison for the model's output (the score of the positive class where there
  is one, else the prediction) against its distribution on the evaluation data (evidence.drift's
  ``predictions_ref``).
- performance (labelled windows of at least ``min_labelled_rows``): the realised metrics against the same
  metrics on the version's evaluation data. Alerts when the primary metric is worse than the evaluation's by
  at least ``max_performance_drop`` (relative) and the window's 95% interval lies wholly on the worse side.
- concept_drift (labelled windows with scores): the realised primary metric against its estimate from
  calibrated probabilities on the same rows (CBPE). The estimate already accounts for the inputs having
  moved; what it cannot foresee is a change in how outcomes follow from inputs, P(y | x). Alerts on a
  relative gap of ``max_performance_drop`` whose interval excludes the estimate. Regression has no
  probabilities: not applicable.
- estimated_performance (binary classification with scores, at least ``min_rows`` rows): the CBPE
  estimate against the evaluation. It alerts only on unlabelled windows (once labels are known the realised
  performance speaks); judged on its interval where it has one, else on the point.

Below a minimum size a monitor says "insufficient_data" and never alerts: chance is not an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evidence.drift import SMALL_REFERENCE_ALPHA, drift_report
from mlio.reference_profile import PREDICTION
from monitoring import performance as perf

MONITORS = ("feature_drift", "prediction_drift", "performance", "concept_drift", "estimated_performance")
DRIFT_MONITORS = ("feature_drift", "prediction_drift")
PERFORMANCE_MONITORS = ("performance", "concept_drift", "estimated_performance")


@dataclass(frozen=True)
class Rules:
    monitors: tuple[str, ...]
    psi_alert: float
    min_rows: int
    min_labelled_rows: int
    max_performance_drop: float
    n_bootstrap: int = 1000

    @classmethod
    def from_policy(cls, policy: Mapping[str, Any]) -> Rules:
        return cls(
            monitors=tuple(name for name in MONITORS if policy["monitors"].get(name)),
            psi_alert=float(policy["psi_alert"]),
            min_rows=int(policy["min_rows"]),
            min_labelled_rows=int(policy["min_labelled_rows"]),
            max_performance_drop=float(policy["max_performance_drop"]),
        )


@dataclass
class Window:
    """One window's rows: inputs, 0/1 (or numeric) predictions, scores of the positive class, labels."""

    features: pd.DataFrame
    predictions: np.ndarray
    scores: np.ndarray | None
    labels: np.ndarray | None


@dataclass
class Reference:
    """What the window is compared with: the drift profile of the inputs and, from the evaluation data,
    the profile of the model's outputs, its performance and the calibration of its scores."""

    task: str
    drift_profile: Mapping[str, Any]
    prediction_profile: Mapping[str, Any]
    baseline: Mapping[str, dict]
    calibrate: Callable[[np.ndarray], np.ndarray] | None


def window_report(window: Window, reference: Reference, rules: Rules) -> dict[str, Any]:
    """Every enabled monitor's result, the alerts raised and the verdict: alert, ok or insufficient_data."""
    results: dict[str, dict] = {}
    results.update(_drift(window, reference, rules))
    primary = perf.primary_metric(reference.task, has_scores=window.scores is not None)
    # Concept drift compares the realised performance with the estimate: it needs both; a policy that
    # monitors neither performance pays for neither.
    concept = "concept_drift" in rules.monitors
    if concept or "performance" in rules.monitors:
        realised = _realised(window, reference, rules, primary)
    if concept or "estimated_performance" in rules.monitors:
        estimated = _estimated(window, reference, rules, primary)
    if "performance" in rules.monitors:
        results["performance"] = realised
    if concept:
        results["concept_drift"] = _concept(window, reference, rules, primary, realised, estimated)
    if "estimated_performance" in rules.monitors:
        results["estimated_performance"] = estimated
    alerts = [{"monitor": name, "reason": result["reason"]} for name, result in results.items() if result["alert"]]
    return {
        "verdict": _verdict(results),
        "rows": len(window.features),
        "labelled": window.labels is not None,
        "primary_metric": primary,
        "rules": {**rules.__dict__, "monitors": list(rules.monitors)},
        "monitors": results,
        "alerts": alerts,
    }


def _verdict(results: Mapping[str, dict]) -> str:
    if any(result["alert"] for result in results.values()):
        return "alert"
    judged = [result for result in results.values() if result["status"] != "not_applicable"]
    if judged and all(result["status"] == "insufficient_data" for result in judged):
        return "insufficient_data"
    return "ok"


def _skipped(status: str, reason: str) -> dict:
    return {"status": status, "alert": False, "reason": reason}


# --- drift ---------------------------------------------------------------------------------------------


def prediction_values(window: Window) -> np.ndarray:
    return window.scores if window.scores is not None else np.asarray(window.predictions, dtype=np.float64)


def _drift(window: Window, reference: Reference, rules: Rules) -> dict[str, dict]:
    wanted = [name for name in DRIFT_MONITORS if name in rules.monitors]
    if not wanted:
        return {}
    outputs = prediction_values(window) if "prediction_drift" in wanted else None
    if "feature_drift" in wanted:
        report = drift_report(
            reference.drift_profile,
            window.features,
            psi_alert=rules.psi_alert,
            min_rows=rules.min_rows,
            predictions_ref=reference.prediction_profile if outputs is not None else None,
            predictions=outputs,
        )
    else:
        frame = pd.DataFrame({PREDICTION: outputs})
        report = drift_report(reference.prediction_profile, frame, psi_alert=rules.psi_alert, min_rows=rules.min_rows)
        report["prediction"], report["features"], report["drifted_features"] = report["features"][PREDICTION], {}, []
    results = {}
    if "feature_drift" in wanted:
        results["feature_drift"] = _feature_drift(report, len(window.features), rules)
    if "prediction_drift" in wanted:
        results["prediction_drift"] = _prediction_drift(report["prediction"], rules)
    return results


def _feature_drift(report: dict, rows: int, rules: Rules) -> dict:
    features = report["features"]
    drifted = report["drifted_features"]
    short = _short_references(features, rules)
    if rows < rules.min_rows:
        status, reason = (
            "insufficient_data",
            f"the window has {rows} rows, fewer than the {rules.min_rows} a drift verdict needs",
        )
    elif drifted:
        status, reason = "drift", f"PSI >= {rules.psi_alert:g} on {', '.join(drifted)}"
        if any(features[name]["short"] == "reference" for name in drifted):
            reason += f" ({short}; {_SHOWN})"
    elif short:
        status, reason = "insufficient_data", f"{short}, and no feature moved enough to show on so few ({_SHOWN})"
    elif any(feature["status"] == "insufficient_data" for feature in features.values()):
        status = "insufficient_data"
        reason = f"some features have fewer than {rules.min_rows} values in the window to judge"
    else:
        status, reason = "stable", f"every feature's PSI is below {rules.psi_alert:g}"
    return {"status": status, "alert": status == "drift", "reason": reason, "features": features}


_SHOWN = f"a shift counts there when its KS or chi-square test also gives p < {SMALL_REFERENCE_ALPHA:g}"


def _short_references(features: Mapping[str, dict], rules: Rules) -> str:
    """Words for the drift reference when it is below the minimum size, else an empty string."""
    sizes = [feature["n_reference"] for feature in features.values() if feature["short"] == "reference"]
    if not sizes:
        return ""
    return f"the reference has {min(sizes)} values, fewer than the {rules.min_rows} a stable verdict needs"


def _prediction_drift(result: dict, rules: Rules) -> dict:
    status, short = result["status"], result["short"]
    if short == "current":
        reason = f"the window has {result['n_current']} predictions, fewer than the {rules.min_rows} a verdict needs"
    elif short == "reference" and status == "insufficient_data":
        reason = (
            f"the evaluation data has {result['n_reference']} predictions, fewer than the {rules.min_rows} a "
            f"stable verdict needs, and the predictions' PSI {result['psi']:.3f} does not show a shift on so few "
            f"({_SHOWN})"
        )
    else:
        verb = "reaches" if status == "drift" else "is below"
        reason = f"the predictions' PSI {result['psi']:.3f} {verb} {rules.psi_alert:g}"
        if short == "reference":
            reason += f" (the evaluation data has {result['n_reference']} predictions; {_SHOWN})"
    return {"status": status, "alert": status == "drift", "reason": reason, **result}


# --- performance ---------------------------------------------------------------------------------------


def _realised(window: Window, reference: Reference, rules: Rules, primary: str) -> dict:
    if window.labels is None:
        return _skipped("no_labels", "the window's labels are not known yet")
    rows = len(window.labels)
    if rows < rules.min_labelled_rows:
        return _skipped("insufficient_data", f"{rows} labelled rows, fewer than the {rules.min_labelled_rows} needed")
    if reference.task == "regression":
        metrics = perf.regression_performance(window.labels, window.predictions)
    else:
        metrics = perf.binary_performance(
            window.labels, window.predictions, window.scores, n_bootstrap=rules.n_bootstrap
        )
    return _judged(metrics, reference.baseline, primary, rules, "the evaluation data")


def _estimated(window: Window, reference: Reference, rules: Rules, primary: str) -> dict:
    if reference.task != "binary_classification" or window.scores is None or reference.calibrate is None:
        return _skipped("not_applicable", "needs a binary classifier's scores and a calibration from labelled data")
    rows = len(window.scores)
    if rows < rules.min_rows:
        return _skipped("insufficient_data", f"{rows} rows, fewer than the {rules.min_rows} an estimate needs")
    probabilities = reference.calibrate(window.scores)
    metrics = perf.estimated_binary_performance(probabilities, window.predictions, window.scores)
    result = _judged(metrics, reference.baseline, primary, rules, "the evaluation data", interval_optional=True)
    result["estimate"] = True
    if window.labels is not None and result["alert"]:
        result["alert"] = False
        result["reason"] += " (labels are known: the realised performance decides)"
    return result


def _concept(window: Window, reference: Reference, rules: Rules, primary: str, realised: dict, estimated: dict):
    if estimated["status"] == "not_applicable":
        return _skipped("not_applicable", estimated["reason"])
    if realised["status"] != "judged":
        return _skipped(realised["status"], realised["reason"])
    expected = {name: value["value"] for name, value in estimated["metrics"].items()}
    judged = _judged(realised["metrics"], expected, primary, rules, "the estimate from calibrated probabilities")
    judged["expected"] = estimated["metrics"]
    return judged


def _judged(
    metrics: dict, baseline: Mapping[str, Any], primary: str, rules: Rules, against: str, interval_optional=False
) -> dict:
    point = {name: (value["value"] if isinstance(value, Mapping) else value) for name, value in baseline.items()}
    drops = {name: perf.relative_drop(name, point.get(name), metrics[name]["value"]) for name in metrics}
    drop, estimate = drops.get(primary), metrics.get(primary)
    if drop is None or estimate is None:
        return {"status": "judged", "alert": False, "reason": f"{primary} is undefined here", "metrics": metrics}
    no_interval = estimate["low"] is None and estimate["high"] is None
    significant = (interval_optional and no_interval) or perf.beyond_chance(primary, point.get(primary), estimate)
    alert = drop >= rules.max_performance_drop and significant
    word = "worse" if drop >= 0 else "better"
    reason = f"{primary} {estimate['value']:.3f} is {abs(drop):.1%} {word} than {against} ({point[primary]:.3f})"
    if drop >= rules.max_performance_drop and not significant:
        reason += ", within chance"
    return {
        "status": "judged",
        "alert": alert,
        "reason": reason,
        "metrics": metrics,
        "baseline": point,
        "relative_drop": drops,
    }

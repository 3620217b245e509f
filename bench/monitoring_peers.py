"""The monitoring peers, Evidently and NannyML, on the windows bench/monitoring.py builds (benchmark only).

They are not dependencies of the service: requirements-bench.txt installs them in their own environment
(`make bench-env`, .venv-bench). Each peer is asked the question a service monitor answers, on the same
reference and window, and must reach the same verdicts:

- feature drift, PSI: Evidently's DataDriftPreset with method "psi" and the service's alert threshold, against
  the service's feature_drift monitor (PSI on the reference deciles, KS and chi-squared beside it);
- univariate drift, KS and chi-squared: NannyML's UnivariateDriftCalculator (Kolmogorov-Smirnov for numeric
  columns, chi-squared for categorical ones, one chunk) against the same monitor; NannyML derives alert
  thresholds from the spread of its statistics over reference chunks, which one chunk does not have, so a
  constant threshold is set on each statistic (``KS_ALERT``, ``CHI2_PVALUE``);
- estimated performance: NannyML's CBPE (isotonic calibration, the same metrics) against the service's
  estimated_performance monitor, the same ROC AUC to 1e-3 and the same accuracy to 1e-9.

Fitting on the reference (NannyML's fit; the service's reference profile and calibration) happens once per
reference for both and is timed apart; Evidently has no such step and reads the reference on every run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

# A Kolmogorov-Smirnov distance above this, or a chi-squared p-value below this, is drift for NannyML here:
# a half-standard-deviation shift moves the distance to about 0.2, sampling noise at 100,000 rows to under 0.01.
KS_ALERT, CHI2_PVALUE = 0.1, 0.05


def available() -> str | None:
    """None when the peers can be imported, else why not."""
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML reports usage over the network otherwise
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        import evidently  # noqa: F401
        import nannyml  # noqa: F401
    except ImportError as exc:
        return f"{exc}; the peers live in .venv-bench (make bench-env), see requirements-bench.txt"
    return None


def evidently_psi(reference: pd.DataFrame, psi_alert: float) -> Callable[[pd.DataFrame], set[str]]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    definition = DataDefinition(
        numerical_columns=numeric, categorical_columns=[c for c in reference.columns if c not in numeric]
    )
    report = Report([DataDriftPreset(method="psi", threshold=psi_alert)])
    reference_set = Dataset.from_pandas(reference, data_definition=definition)

    def drifted(window: pd.DataFrame) -> set[str]:
        snapshot = report.run(Dataset.from_pandas(window, data_definition=definition), reference_set)
        values = {
            metric["config"]["column"]: float(metric["value"])
            for metric in snapshot.dict()["metrics"]
            if metric["config"].get("type") == "evidently:metric_v2:ValueDrift"
        }
        return {name for name, psi in values.items() if psi >= psi_alert}

    return drifted


def nannyml_univariate(reference: pd.DataFrame) -> Callable[[pd.DataFrame], set[str]]:
    import nannyml as nml
    from nannyml.thresholds import ConstantThreshold

    columns = list(reference.columns)
    calculator = nml.UnivariateDriftCalculator(
        column_names=columns,
        continuous_methods=["kolmogorov_smirnov"],
        categorical_methods=["chi2"],
        chunk_number=1,
        thresholds={
            "kolmogorov_smirnov": ConstantThreshold(lower=None, upper=KS_ALERT),
            "chi2": ConstantThreshold(lower=CHI2_PVALUE, upper=None),
        },
    )
    calculator.fit(reference)

    def drifted(window: pd.DataFrame) -> set[str]:
        frame = calculator.calculate(window).filter(period="analysis").to_df()
        return {
            name
            for name in columns
            for method in ("kolmogorov_smirnov", "chi2")
            if (name, method, "alert") in frame.columns and bool(frame[(name, method, "alert")].iloc[0])
        }

    return drifted


def nannyml_cbpe(reference_scores: np.ndarray, reference_labels: np.ndarray) -> Callable[..., dict[str, float]]:
    import nannyml as nml

    estimator = nml.CBPE(
        problem_type="classification_binary",
        y_pred_proba="score",
        y_pred="prediction",
        y_true="label",
        metrics=["roc_auc", "accuracy"],
        chunk_number=1,
    )
    estimator.fit(_outputs(reference_scores, reference_labels))

    def estimate(scores: np.ndarray) -> dict[str, float]:
        frame = estimator.estimate(_outputs(scores)).filter(period="analysis").to_df()
        return {metric: float(frame[(metric, "value")].iloc[0]) for metric in ("roc_auc", "accuracy")}

    return estimate


def _outputs(scores: np.ndarray, labels: np.ndarray | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"score": scores, "prediction": (scores >= 0.5).astype(np.int64)})
    if labels is not None:
        frame["label"] = labels
    return frame


def service_drifted(report: dict[str, Any]) -> set[str]:
    features = report["monitors"]["feature_drift"]["features"]
    return {name for name, result in features.items() if result["status"] == "drift"}

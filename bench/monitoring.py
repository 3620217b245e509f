"""Every monitor on one production window (feature and prediction drift, realised performance with intervals,
concept drift, estimated performance), against a straightforward pandas/scipy/scikit-learn implementation of
the same statistics in the same run.

    .venv/bin/python -m bench.monitoring [--rows 1000000] [--features 20] [--reference-rows 200000]
        [--repeat 3] [--baseline-resamples 20]

The data are synthetic (seeded): numeric features (normal) and one categorical feature in five of them,
a logistic model whose scores are the probabilities the labels are drawn from, and a window whose first
three numeric features are shifted by half a standard deviation, so that feature and prediction drift are
real and every monitor has work to do.

"service" is what a production window job computes once its rows are loaded: monitoring.monitors.window_report
(the reference part, computed from the evaluation rows, is timed apart: the drift profile, the prediction
profile, the baseline metrics and the calibration). "baseline" computes the same statistics the plain way:
pd.cut on the reference deciles and value_counts for PSI, scipy.stats.ks_2samp against every reference
value, scipy.stats.chi2_contingency, scikit-learn's metrics, a row bootstrap of ``--baseline-resamples``
resamples for the intervals (the service bootstraps the four confusion cells, 1000 resamples), and CBPE with
scikit-learn's IsotonicRegression and roc_auc_score with sample weights.

Time is the median of ``--repeat`` runs; peak memory is tracemalloc's peak (numpy's buffers included) during
one more run of each, measured apart from the timing. Prints figures; asserts nothing.
"""

import argparse
import dataclasses
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.rounds import interleaved  # noqa: E402
from mlio.reference_profile import prediction_profile, reference_profile_for  # noqa: E402
from monitoring import performance as perf  # noqa: E402
from monitoring.monitors import MONITORS, Reference, Rules, Window, window_report  # noqa: E402

RULES = Rules(monitors=MONITORS, psi_alert=0.15, min_rows=1000, min_labelled_rows=500, max_performance_drop=0.1)
EPSILON = 1e-4


def _data(rows: int, features: int, seed: int, shift: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    numeric = features - features // 5
    columns = {f"x{i}": rng.normal(shift if i < 3 else 0.0, 1.0, rows) for i in range(numeric)}
    for i in range(features // 5):
        columns[f"c{i}"] = rng.choice(np.array(["a", "b", "c", "d", "e"], dtype=object), rows)
    frame = pd.DataFrame(columns)
    weights = np.linspace(1.0, 0.1, numeric)
    scores = 1 / (1 + np.exp(-(frame[[f"x{i}" for i in range(numeric)]].to_numpy() @ weights) / 2))
    labels = (rng.uniform(size=rows) < scores).astype(np.int64)
    return frame, scores, labels


def _reference(frame: pd.DataFrame, scores: np.ndarray, labels: np.ndarray) -> Reference:
    predictions = (scores >= 0.5).astype(np.int64)
    return Reference(
        task="binary_classification",
        drift_profile=reference_profile_for(frame, list(frame.columns)),
        prediction_profile=prediction_profile(scores),
        baseline=perf.binary_performance(labels, predictions, scores),
        calibrate=perf.calibrator(scores, labels),
    )


# --- the plain way -----------------------------------------------------------------------------------------


def _psi(reference_share: np.ndarray, current_share: np.ndarray) -> float:
    r, c = np.maximum(reference_share, EPSILON), np.maximum(current_share, EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def _numeric_plain(reference: pd.Series, current: pd.Series) -> dict:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, 11)))
    edges[0], edges[-1] = -np.inf, np.inf
    r = pd.cut(reference, edges).value_counts(normalize=True, sort=False).to_numpy()
    c = pd.cut(current, edges).value_counts(normalize=True, sort=False).to_numpy()
    ks = stats.ks_2samp(reference, current)
    return {"psi": _psi(r, c), "ks": float(ks.statistic), "p": float(ks.pvalue)}


def _categorical_plain(reference: pd.Series, current: pd.Series) -> dict:
    r = reference.value_counts()
    c = current.value_counts().reindex(r.index, fill_value=0)
    chi2 = stats.chi2_contingency(np.vstack([r.to_numpy(), c.to_numpy()]), correction=False)
    return {"psi": _psi((r / r.sum()).to_numpy(), (c / c.sum()).to_numpy()), "chi2": float(chi2.statistic)}


def _metrics_plain(labels, predictions, scores) -> dict:
    return {
        "accuracy": accuracy_score(labels, predictions),
        "precision": precision_score(labels, predictions, zero_division=np.nan),
        "recall": recall_score(labels, predictions, zero_division=np.nan),
        "f1": f1_score(labels, predictions, zero_division=np.nan),
        "roc_auc": roc_auc_score(labels, scores),
    }


def _performance_plain(labels, predictions, scores, resamples: int) -> dict:
    rng = np.random.default_rng(0)
    point = _metrics_plain(labels, predictions, scores)
    draws = []
    for _ in range(resamples):
        rows = rng.integers(0, len(labels), len(labels))
        draws.append(_metrics_plain(labels[rows], predictions[rows], scores[rows]))
    if not draws:
        return {name: (value, None, None) for name, value in point.items()}
    return {name: (value, *np.percentile([d[name] for d in draws], (2.5, 97.5))) for name, value in point.items()}


def _cbpe_plain(reference_scores, reference_labels, scores, predictions) -> dict:
    calibrated = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(reference_scores, reference_labels)
    p = calibrated.predict(scores)
    positive = predictions == 1
    tp, fp = p[positive].sum(), (1 - p[positive]).sum()
    fn, tn = p[~positive].sum(), (1 - p[~positive]).sum()
    twice = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    auc = roc_auc_score(twice, np.concatenate([scores, scores]), sample_weight=np.concatenate([p, 1 - p]))
    return {"accuracy": (tp + tn) / len(p), "precision": tp / (tp + fp), "recall": tp / (tp + fn), "roc_auc": auc}


def baseline(reference_rows, reference_scores, reference_labels, window, resamples: int) -> dict:
    report = {}
    for name in window.features.columns:
        plain = _numeric_plain if pd.api.types.is_numeric_dtype(window.features[name]) else _categorical_plain
        report[name] = plain(reference_rows[name], window.features[name])
    report["prediction"] = _numeric_plain(pd.Series(reference_scores), pd.Series(window.scores))
    reference_predictions = (reference_scores >= 0.5).astype(np.int64)
    report["evaluation"] = _metrics_plain(reference_labels, reference_predictions, reference_scores)
    report["performance"] = _performance_plain(window.labels, window.predictions, window.scores, resamples)
    report["estimated"] = _cbpe_plain(reference_scores, reference_labels, window.scores, window.predictions)
    return report


# --- measuring -----------------------------------------------------------------------------------------------


def _peak(run) -> float:
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _only(*monitors: str) -> Rules:
    return dataclasses.replace(RULES, monitors=monitors)


def _estimated_alert(report: dict, estimate: dict[str, float]) -> bool:
    """The service's estimated-performance rule applied to another estimate of ROC AUC."""
    baseline = report["monitors"]["estimated_performance"]["baseline"]["roc_auc"]
    return perf.relative_drop("roc_auc", baseline, estimate["roc_auc"]) >= RULES.max_performance_drop


def _peers(args, reference_rows, reference_scores, reference_labels, window, reference) -> None:
    from bench import monitoring_peers as peers

    missing = peers.available()
    if missing:
        print(f"peers skipped: {missing}")
        return
    chosen = set(args.peers.split(","))
    fitting = {}
    if "nannyml" in chosen:
        fitting["NannyML fit (univariate)"] = lambda: peers.nannyml_univariate(reference_rows)
        fitting["NannyML fit (CBPE)"] = lambda: peers.nannyml_cbpe(reference_scores, reference_labels)
    if "evidently" in chosen:
        fitting["Evidently report"] = lambda: peers.evidently_psi(reference_rows, RULES.psi_alert)
    fit = interleaved(fitting, 1, warm=False)
    drift_only, estimated_only = _only("feature_drift"), _only("estimated_performance")
    # Without labels, as CBPE is used: with them the service lets the realised performance decide.
    unlabelled = Window(window.features, window.predictions, window.scores, None)
    sides = {"feature_drift monitor": lambda: window_report(window, reference, drift_only)}
    if "nannyml" in chosen:
        sides["NannyML univariate"] = lambda: fit.values["NannyML fit (univariate)"](window.features)
    if "evidently" in chosen:
        sides["Evidently DataDriftPreset"] = lambda: fit.values["Evidently report"](window.features)
    if "nannyml" in chosen:
        sides["estimated_performance monitor"] = lambda: window_report(unlabelled, reference, estimated_only)
        sides["NannyML CBPE"] = lambda: fit.values["NannyML fit (CBPE)"](window.scores)
    rounds = interleaved(sides, args.repeat)
    ours = peers.service_drifted(rounds.values["feature_drift monitor"])
    drift_peers = [name for name in ("NannyML univariate", "Evidently DataDriftPreset") if name in sides]
    theirs = {name: rounds.values[name] for name in drift_peers}
    if any(drifted != ours for drifted in theirs.values()):
        raise SystemExit(f"drift verdicts differ: service {sorted(ours)}, {theirs}")
    print(f"peers fitted on the reference once: {', '.join(f'{n} {fit.best(n):.2f} s' for n in fit.seconds)}")
    print(f"drifted features, the same for the service and {', '.join(drift_peers)}: {sorted(ours)}")
    if "NannyML CBPE" in sides:
        _same_estimate(rounds.values["estimated_performance monitor"], rounds.values["NannyML CBPE"])
    for side in rounds.seconds:
        print(f"  {side:<32} median {rounds.median(side):8.2f} s, min {rounds.best(side):8.2f} s")
    for peer in drift_peers:
        print(f"  {rounds.ratio_line(peer, 'feature_drift monitor')}")
    if "NannyML CBPE" in sides:
        print(f"  {rounds.ratio_line('NannyML CBPE', 'estimated_performance monitor')}")


def _same_estimate(report: dict, nannyml: dict[str, float]) -> None:
    metrics = report["monitors"]["estimated_performance"]["metrics"]
    gaps = {m: abs(metrics[m]["value"] - nannyml[m]) for m in nannyml}
    alert = report["monitors"]["estimated_performance"]["alert"]
    if _estimated_alert(report, nannyml) != alert or max(gaps.values()) > 1e-6:
        raise SystemExit(f"estimated performance differs: service alert {alert}, {metrics}; NannyML {nannyml}")
    print(
        f"estimated performance, same verdict (alert {alert}); |service - NannyML|: "
        + ", ".join(f"{m} {gap:.1e}" for m, gap in gaps.items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--reference-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds per comparison")
    parser.add_argument("--baseline-resamples", type=int, default=20)
    parser.add_argument(
        "--peers", default="evidently,nannyml", help="comma-separated peers to compare with ('' for none)"
    )
    args = parser.parse_args()

    reference_rows, reference_scores, reference_labels = _data(args.reference_rows, args.features, seed=1, shift=0)
    rows, scores, labels = _data(args.rows, args.features, seed=2, shift=0.5)
    window = Window(rows, (scores >= 0.5).astype(np.int64), scores, labels)
    print(
        f"Monitoring benchmark ({os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}, "
        f"pandas {pd.__version__}); window: {args.rows:,} rows x {args.features} features; "
        f"reference: {args.reference_rows:,} rows"
    )

    started = time.perf_counter()
    reference = _reference(reference_rows, reference_scores, reference_labels)
    prepare_s = time.perf_counter() - started
    rounds = interleaved(
        {
            "service": lambda: window_report(window, reference, RULES),
            "baseline": lambda: baseline(
                reference_rows, reference_scores, reference_labels, window, args.baseline_resamples
            ),
            "baseline without intervals": lambda: baseline(
                reference_rows, reference_scores, reference_labels, window, 0
            ),
        },
        args.repeat,
        warm=False,
    )
    report, plain = rounds.values["service"], rounds.values["baseline"]
    service_mb = _peak(lambda: window_report(window, reference, RULES))
    baseline_mb = _peak(
        lambda: baseline(reference_rows, reference_scores, reference_labels, window, args.baseline_resamples)
    )

    features = report["monitors"]["feature_drift"]["features"]
    psi_gap = max(abs(features[name]["psi"] - plain[name]["psi"]) for name in features)
    auc = report["monitors"]["performance"]["metrics"]["roc_auc"]["value"]
    estimated_auc = report["monitors"]["estimated_performance"]["metrics"]["roc_auc"]["value"]
    print(f"alerts: {[alert['monitor'] for alert in report['alerts']]}")
    print(f"largest PSI difference service vs baseline: {psi_gap:.2e} (the same bins: both use reference deciles)")
    print(
        f"ROC AUC realised {auc:.4f} (baseline {plain['performance']['roc_auc'][0]:.4f}); estimated "
        f"{estimated_auc:.4f} (baseline {plain['estimated']['roc_auc']:.4f})"
    )
    print(f"reference part (once per reference): {prepare_s:.2f} s")
    print(f"{'':28} {'median (s)':>10} {'min (s)':>10} {'peak (MiB)':>12}")
    for side, peak in (("service", service_mb), ("baseline", baseline_mb), ("baseline without intervals", None)):
        shown = f"{peak:12.0f}" if peak is not None else f"{'':>12}"
        print(f"{side:28} {rounds.median(side):10.2f} {rounds.best(side):10.2f} {shown}")
    print(rounds.ratio_line("baseline", "service"))
    print(rounds.ratio_line("baseline without intervals", "service"))
    print(f"peak memory service/baseline: {service_mb / baseline_mb:.2f}")
    if args.peers:
        _peers(args, reference_rows, reference_scores, reference_labels, window, reference)


if __name__ == "__main__":
    main()

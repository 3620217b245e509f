"""Evidence computations against baselines and peers measured in the same run, sides interleaved round by round.

    .venv/bin/python -m bench.evidence [--rows 1000000] [--explain-rows 10000] [--tree-rows 2000]
        [--permutation-rows 10] [--repeat 3]

1. Bias audit of N rows, two sensitive features (5 x 3 groups) and their intersection, against a baseline
   doing the same work with Fairlearn alone: one MetricFrame per feature and one for the intersection, with
   the six group metrics the audit reports, and the four disparities over all groups. Every figure must be
   equal (to 1e-9). The audit does more than the baseline: AIF360's pair metrics, the agreement check between
   the libraries and 1,000 bootstrap resamples for the intervals (goal: at least 10x faster all the same).
2. Drift of N x 20 against a 100,000-row reference, against per-feature scipy ks_2samp plus a numpy histogram
   PSI on the raw values (goal: at most 5 s).
3. SHAP for a 100-tree, depth-8 random forest on 20 features: our tree path against shap.TreeExplainer on the
   same rows (same values to 1e-6) and against shap's generic PermutationExplainer (goal: at least 100x
   rows/s; 10,000 rows in at most 10 s). Rates are compared, since the peers run on fewer rows.
Each comparison prints min and median of per-round ratios (bench/rounds.py). Prints figures; asserts nothing,
but stops when the sides disagree.
"""

import argparse
import os
import warnings

import numpy as np
import pandas as pd

from bench.rounds import interleaved

GROUP_METRICS = ("selection_rate", "accuracy", "true_positive_rate", "false_positive_rate", "false_negative_rate")
DISPARITIES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equal_opportunity_difference",
)


def _bias_data(rows: int):
    rng = np.random.default_rng(0)
    race = rng.choice(["a", "b", "c", "d", "e"], rows, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    sex = rng.choice(["f", "m", "x"], rows, p=[0.49, 0.49, 0.02])
    y_true = rng.integers(0, 2, rows)
    y_pred = (rng.random(rows) < 0.3 + 0.1 * (race == "a")).astype(int)
    return y_true, y_pred, pd.DataFrame({"race": race, "sex": sex})


def _fairlearn_baseline(y_true, y_pred, sensitive: pd.DataFrame) -> dict:
    """Every group metric and disparity of the audit, for both features and their intersection."""
    from fairlearn.metrics import (
        MetricFrame,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    metrics = {
        "selection_rate": selection_rate,
        "accuracy": accuracy_score,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "false_negative_rate": false_negative_rate,
        "precision": lambda t, p: precision_score(t, p, zero_division=np.nan),
    }
    figures = {}
    for name, columns in (("race", ["race"]), ("sex", ["sex"]), ("race x sex", ["race", "sex"])):
        frame = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive[columns])
        by_group, spread = frame.by_group, frame.difference()
        for key, row in by_group.iterrows():
            group = " x ".join(map(str, key)) if isinstance(key, tuple) else str(key)
            figures |= {(name, group, metric): float(row[metric]) for metric in (*GROUP_METRICS, "precision")}
        figures[(name, "demographic_parity_difference")] = float(spread["selection_rate"])
        figures[(name, "demographic_parity_ratio")] = float(frame.ratio()["selection_rate"])
        figures[(name, "equal_opportunity_difference")] = float(spread["true_positive_rate"])
        figures[(name, "equalized_odds_difference")] = float(
            max(spread["true_positive_rate"], spread["false_positive_rate"])
        )
    return figures


def _audit_figures(result) -> dict:
    figures = {}
    for feature in result.features:
        for group in feature.groups:
            figures |= {(feature.name, group.group, m): group.metrics[m].value for m in (*GROUP_METRICS, "precision")}
        figures |= {(feature.name, d): feature.fairlearn_all_groups[d].value for d in DISPARITIES}
    return figures


def _differences(ours: dict, theirs: dict) -> list:
    if ours.keys() != theirs.keys():
        raise SystemExit(f"the sides report different figures: {sorted(set(ours) ^ set(theirs), key=str)[:5]}")
    return [
        (key, ours[key], theirs[key])
        for key in ours
        if not (ours[key] is None and np.isnan(theirs[key]))
        and not (ours[key] is not None and abs(ours[key] - theirs[key]) <= 1e-9)
    ]


def bias(rows: int, repeat: int) -> None:
    from evidence.fairness import bias_audit

    y_true, y_pred, sensitive = _bias_data(rows)
    rounds = interleaved(
        {
            "Fairlearn baseline": lambda: _fairlearn_baseline(y_true, y_pred, sensitive),
            "audit": lambda: bias_audit(
                y_true=y_true, y_pred=y_pred, sensitive=sensitive, task="binary_classification", n_bootstrap=1000
            ),
        },
        repeat,
        warm=False,
    )
    ours, theirs = _audit_figures(rounds.values["audit"]), rounds.values["Fairlearn baseline"]
    differing = _differences(ours, theirs)
    if differing:
        raise SystemExit(f"bias audit and Fairlearn disagree on {len(differing)} figures, e.g. {differing[:3]}")
    print(
        f"bias audit, {rows:,} rows, race (5) and sex (3) and their intersection: Fairlearn baseline median "
        f"{rounds.median('Fairlearn baseline'):.2f} s, audit (+ AIF360, agreement, 1,000 resamples) median "
        f"{rounds.median('audit'):.2f} s; {rounds.ratio_line('Fairlearn baseline', 'audit')} (goal >= 10x); "
        f"all {len(ours)} figures equal to 1e-9"
    )


def drift(rows: int, repeat: int) -> None:
    from scipy.stats import ks_2samp

    from evidence.drift import drift_report, reference_profile

    rng = np.random.default_rng(1)
    names = [f"f{i}" for i in range(20)]
    reference = pd.DataFrame(rng.normal(size=(100_000, 20)), columns=names)
    current = pd.DataFrame(rng.normal(0.05, 1, size=(rows, 20)), columns=names)
    profile = reference_profile(reference, numeric=names, categorical=[])

    def naive():
        for name in names:
            ks_2samp(reference[name], current[name])
            edges = np.quantile(reference[name], np.linspace(0, 1, 11))
            np.histogram(reference[name], edges)
            np.histogram(current[name], edges)

    rounds = interleaved({"scipy baseline": naive, "drift report": lambda: drift_report(profile, current)}, repeat)
    print(
        f"drift, {rows:,} x 20 vs 100,000: report median {rounds.median('drift report'):.2f} s (goal <= 5 s); "
        f"{rounds.ratio_line('scipy baseline', 'drift report')}; verdict {rounds.values['drift report']['verdict']}"
    )


def explanations(explain_rows: int, tree_rows: int, permutation_rows: int, repeat: int) -> None:
    import shap
    from sklearn.ensemble import RandomForestClassifier

    from evidence.explain import choose_explainer, shap_chunk
    from mlio.predictors import SklearnPredictor

    # PermutationExplainer hands the model arrays; the forest was fitted on a frame and says so on every call.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(20_000, 20)), columns=[f"f{i}" for i in range(20)])
    y = (X.f0 + X.f1 * X.f2 + rng.normal(0, 0.5, len(X)) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0, n_jobs=-1).fit(X, y)
    predictor = SklearnPredictor(model)
    choice = choose_explainer(predictor, class_label=1)
    rows, tree_part = X.iloc[:explain_rows], X.iloc[:tree_rows]
    tree = shap.TreeExplainer(model)
    background = shap.kmeans(X.iloc[:2000], 10)
    permutation = shap.PermutationExplainer(lambda data: model.predict_proba(data)[:, 1], background.data)
    rounds = interleaved(
        {
            "tree path": lambda: shap_chunk(predictor, rows, choice),
            "shap.TreeExplainer": lambda: tree.shap_values(tree_part),
            "PermutationExplainer": lambda: permutation(X.iloc[:permutation_rows].to_numpy()),
        },
        repeat,
    )
    theirs = np.asarray(rounds.values["shap.TreeExplainer"])
    theirs = theirs[..., 1] if theirs.ndim == 3 else theirs
    worst = float(np.max(np.abs(rounds.values["tree path"].values[:tree_rows] - theirs)))
    if worst > 1e-6:
        raise SystemExit(f"the tree path and shap.TreeExplainer differ by up to {worst:.2e}")
    # Per-round rate ratios: the sides explain different numbers of rows.
    sizes = {"tree path": explain_rows, "shap.TreeExplainer": tree_rows, "PermutationExplainer": permutation_rows}
    for side, count in sizes.items():
        rounds.seconds[side] = [s / count for s in rounds.seconds[side]]
    ours_s = rounds.median("tree path") * explain_rows
    print(
        f"SHAP, 100-tree depth-8 forest, 20 features, seconds per row compared: tree path {explain_rows:,} rows, "
        f"median {ours_s:.2f} s (goal <= 10 s for 10,000); {rounds.ratio_line('shap.TreeExplainer', 'tree path')} "
        f"({tree_rows:,} rows, max |difference| {worst:.1e}); {rounds.ratio_line('PermutationExplainer', 'tree path')} "
        f"({permutation_rows} rows; goal >= 100x); {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--explain-rows", type=int, default=10_000)
    parser.add_argument("--tree-rows", type=int, default=2_000)
    parser.add_argument("--permutation-rows", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds per comparison")
    args = parser.parse_args()
    print(f"Evidence benchmark ({os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f})")
    bias(args.rows, args.repeat)
    drift(args.rows, args.repeat)
    explanations(args.explain_rows, args.tree_rows, args.permutation_rows, args.repeat)


if __name__ == "__main__":
    main()

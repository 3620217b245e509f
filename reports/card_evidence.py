"""The evidence sections of a model card, read from evidence job results (pure: dicts in, dicts out).

Every number here was computed by an evidence worker from the registered artifact and data; this module
only selects and orders it. Orders are fixed here, never taken from a stored dict's key order (PostgreSQL's
jsonb does not keep it).
"""

METRIC_ORDER = (
    "selection_rate",
    "accuracy",
    "precision",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "mean_score",
    "roc_auc",
    "mean_prediction",
    "mean_absolute_error",
)
LOCAL_EXAMPLES = 3
LOCAL_TOP_FEATURES = 5
AGREEMENT_ROWS = 10


def _ordered(names) -> list[str]:
    return sorted(names, key=lambda name: (METRIC_ORDER.index(name) if name in METRIC_ORDER else 99, name))


def estimate(value: dict | None) -> dict:
    """{"value", "ci": [low, high]} as the fairness module writes it; absent parts are None."""
    value = value or {}
    low, high = (list(value.get("ci") or []) + [None, None])[:2]
    return {"value": value.get("value"), "ci": [low, high]}


def estimates(metrics: dict) -> list[dict]:
    return [{"name": name, **estimate(metrics[name])} for name in _ordered(metrics)]


def charts(result: dict) -> list[dict]:
    found = result.get("charts") or {}
    return [{"name": name, "sha256": found[name]} for name in sorted(found)]


def _group(group: dict) -> dict:
    return {
        "group": group["group"],
        "count": group["count"],
        "insufficient_data": group["insufficient_data"],
        "metrics": estimates(group.get("metrics") or {}),
    }


def _comparison(pair: dict) -> dict:
    return {
        "unprivileged_group": pair["unprivileged_group"],
        "privileged_group": pair["privileged_group"],
        "insufficient_data": bool(pair.get("insufficient_data")),
        "metrics": estimates(pair.get("metrics") or {}),
    }


def _disparities(feature: dict) -> list[dict]:
    """The headline disparities (over the groups the verdict judges), each with the full table's over all groups."""
    every = feature.get("fairlearn_all_groups") or {}
    return [
        {**d, "all_groups": estimate(every[d["name"]]) if d["name"] in every else None}
        for d in estimates(feature.get("fairlearn") or {})
    ]


def _feature(feature: dict) -> dict:
    verdict = feature.get("verdict") or {}
    return {
        "name": feature["name"],
        "kind": feature["kind"],
        "columns": list(feature.get("columns") or []),
        "verdict": verdict.get("status"),
        "reasons": list(verdict.get("reasons") or []),
        "checks": list(verdict.get("checks") or []),
        "groups": [_group(group) for group in feature.get("groups") or []],
        "disparities": _disparities(feature),
        # Results before eligible_groups existed took the headline over every group: None says so.
        "headline_groups": feature.get("eligible_groups"),
        "insufficient_groups": [dict(group) for group in feature.get("insufficient_groups") or []],
        "comparisons": [_comparison(pair) for pair in feature.get("aif360") or []],
    }


def fairness_section(pointer: dict, result: dict) -> dict:
    thresholds = result.get("thresholds") or {}
    return {
        "evidence": pointer,
        "task": result.get("task"),
        "n_rows": result.get("n_rows"),
        "min_group_size": result.get("min_group_size"),
        "verdict": (result.get("verdict") or {}).get("status"),
        "reasons": list((result.get("verdict") or {}).get("reasons") or []),
        "thresholds": [{"name": name, **thresholds[name]} for name in sorted(thresholds)],
        "features": [_feature(feature) for feature in result.get("features") or []],
        "theil_index": estimate((result.get("aif360_overall") or {}).get("theil_index")),
        "bootstrap": result.get("bootstrap") or {},
        "agreement": result.get("agreement") or {},
        "conventions": [{"name": k, "text": v} for k, v in sorted((result.get("conventions") or {}).items())],
        "charts": charts(result),
    }


def performance_by_group(fairness: dict | None) -> list[dict]:
    """The quality metrics (not the rates compared for fairness) of each group, with their intervals."""
    if not fairness:
        return []
    quality = {"accuracy", "precision", "true_positive_rate", "roc_auc", "mean_absolute_error"}
    rows = []
    for feature in fairness["features"]:
        for group in feature["groups"]:
            metrics = [metric for metric in group["metrics"] if metric["name"] in quality]
            rows.append(
                {"feature": feature["name"], "group": group["group"], "count": group["count"], "metrics": metrics}
            )
    return rows


def _local_example(sample: dict, position: int, names: list[str]) -> dict:
    values = sample["values"][position]
    contributions = sorted(
        ({"feature": name, "shap": value} for name, value in zip(names, values, strict=False)),
        key=lambda item: (-abs(item["shap"]), item["feature"]),
    )
    return {
        "row": sample["index"][position],
        "base_value": sample["base_values"][position],
        "model_output": sample["model_output"][position],
        "contributions": contributions[:LOCAL_TOP_FEATURES],
    }


def _local_examples(result: dict, feature_names: list[str]) -> list[dict]:
    sample = result.get("sample") or {}
    count = min(LOCAL_EXAMPLES, len(sample.get("index") or []))
    names = feature_names if sample and len(feature_names) == len(sample["values"][0]) else []
    if not names:
        return []
    return [_local_example(sample, position, names) for position in range(count)]


def _lime(lime: dict | None) -> dict | None:
    if not lime:
        return None
    if "unavailable" in lime:
        return {"unavailable": lime["unavailable"]}
    agreement = lime.get("agreement") or {}
    return {
        "method": agreement.get("method"),
        "summary": agreement.get("summary") or {},
        "rows": list(agreement.get("rows") or [])[:AGREEMENT_ROWS],
        "examples": [
            {"row": row["index"], "local_prediction": row.get("local_prediction"), "features": row["features"]}
            for row in (lime.get("rows") or [])[:LOCAL_EXAMPLES]
        ],
    }


def explainability_section(pointer: dict, result: dict, feature_names: list[str]) -> dict:
    choice = result.get("choice") or {}
    return {
        "evidence": pointer,
        "explainer": choice.get("kind") or result.get("explainer"),
        "reason": choice.get("reason"),
        "output_space": result.get("output_space"),
        "class_label": result.get("class_label"),
        "rows_explained": result.get("rows_explained"),
        "base_value": result.get("base_value"),
        "importance": list(result.get("importance") or []),
        "additivity": result.get("additivity") or {},
        "local_examples": _local_examples(result, feature_names),
        "lime": _lime(result.get("lime")),
        "charts": charts(result),
    }


def _drift_feature(name: str, entry: dict) -> dict:
    numeric = entry.get("kind") == "numeric"
    return {
        "name": name,
        "kind": entry.get("kind"),
        "status": entry.get("status"),
        "psi": entry.get("psi"),
        "test": "ks" if numeric else "chi2",
        "statistic": entry.get("ks_statistic" if numeric else "chi2_statistic"),
        "pvalue": entry.get("ks_pvalue" if numeric else "chi2_pvalue"),
        "n_reference": entry.get("n_reference"),
        "n_current": entry.get("n_current"),
    }


def drift_section(pointer: dict, result: dict) -> dict:
    features = result.get("features") or {}
    prediction = result.get("prediction")
    return {
        "evidence": pointer,
        "verdict": result.get("verdict"),
        "drifted_features": list(result.get("drifted_features") or []),
        "n_reference": result.get("n_reference"),
        "n_current": result.get("n_current"),
        "psi_alert": result.get("psi_alert"),
        "min_rows": result.get("min_rows"),
        "features": [_drift_feature(name, features[name]) for name in sorted(features)],
        "prediction": _drift_feature("prediction", prediction) if prediction else None,
    }


def computed_caveats(fairness: dict | None, explainability: dict | None, drift: dict | None) -> list[str]:
    caveats = []
    for feature in (fairness or {}).get("features", []):
        small = [
            f"{group['group']} ({group['count']} rows)" for group in feature["groups"] if group["insufficient_data"]
        ]
        if small and feature.get("headline_groups") is not None:
            caveats.append(
                f"Bias audit, {feature['name']}: group(s) {', '.join(small)} have fewer than "
                f"{fairness['min_group_size']} rows, so the verdict and the headline disparities leave them out; "
                "they are shown in the full table, with wide intervals."
            )
        elif small:
            caveats.append(
                f"Bias audit, {feature['name']}: too few rows (under {fairness['min_group_size']}) to judge "
                f"group(s) {', '.join(small)}; their intervals are wide and the feature is inconclusive."
            )
    caveats += _evidence_caveats(fairness, explainability, drift)
    return caveats


def _evidence_caveats(fairness: dict | None, explainability: dict | None, drift: dict | None) -> list[str]:
    caveats = []
    if fairness and fairness["verdict"] != "pass":
        caveats.append(f"The bias audit's verdict is {fairness['verdict']}: " + "; ".join(fairness["reasons"]))
    if explainability and not explainability["additivity"].get("passed", False):
        caveats.append("The SHAP values do not add up to the model's output within tolerance.")
    summary = ((explainability or {}).get("lime") or {}).get("summary") or {}
    if summary.get("mean") is not None and summary["mean"] < 0.5:
        caveats.append(
            f"LIME and SHAP rank features differently (mean Spearman {summary['mean']:.2f}): "
            "local explanations should be read with care."
        )
    if drift and drift["verdict"] != "stable":
        caveats.append(f"The latest drift check's verdict is {drift['verdict']}.")
    return caveats

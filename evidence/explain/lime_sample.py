"""LIME on a sample of rows, and how far it agrees with SHAP. Django-free."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlio.predictors import Predictor

from .choice import ExplainerChoice, choose_explainer
from .common import ExplanationInputError, ExplanationUnavailable, _plain, _row_seed
from .rows import _checked_rows


def lime_rows(
    predictor: Predictor,
    X_train_sample: pd.DataFrame,
    X_rows: pd.DataFrame,
    *,
    seed: int,
    num_features: int = 10,
    num_samples: int = 5000,
    class_label: Any = None,
) -> list[dict[str, Any]]:
    """LIME's local linear model per row: its top features with weights.

    LIME's explainer consumes its random state as it explains, so each row gets a fresh explainer
    seeded from the row's index label: a row's explanation is the same in any run and any batch.
    """
    choice = choose_explainer(predictor, class_label=class_label)
    # LIME's sampler takes numeric, complete columns only.
    train = _checked_rows(predictor, X_train_sample, what="training sample", numeric=True, complete=True)
    rows = _checked_rows(predictor, X_rows, what="rows", numeric=True, complete=True)
    if predictor.classes and not predictor.has_predict_proba:
        raise ExplanationUnavailable(f"{predictor.model_class} gives no probabilities for LIME to explain")
    lime = _Lime(predictor, train, choice, seed, num_features, num_samples)
    return [lime.explain(rows.iloc[position], label) for position, label in enumerate(rows.index)]


@dataclasses.dataclass(frozen=True)
class _Lime:
    predictor: Predictor
    train: pd.DataFrame
    choice: ExplainerChoice
    seed: int
    num_features: int
    num_samples: int

    @property
    def classify(self) -> bool:
        return bool(self.predictor.classes)

    def predict(self, data: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(data, columns=self.train.columns)
        output = self.predictor.predict_proba(frame) if self.classify else self.predictor.predict(frame)
        return np.asarray(output, dtype=np.float64)

    def explain(self, row: pd.Series, label: Any) -> dict[str, Any]:
        from lime.lime_tabular import LimeTabularExplainer

        names = [str(name) for name in self.train.columns]
        explainer = LimeTabularExplainer(
            self.train.to_numpy(dtype=np.float64),
            mode="classification" if self.classify else "regression",
            feature_names=names,
            discretize_continuous=True,
            random_state=_row_seed(self.seed, label),
        )
        target = self.choice.class_index if self.classify else 1  # LIME files a regression under 1
        explanation = explainer.explain_instance(
            row.to_numpy(dtype=np.float64),
            self.predict,
            labels=(target,),
            num_features=self.num_features,
            num_samples=self.num_samples,
        )
        return _lime_result(explanation, target, label, names, self.choice.class_label if self.classify else None)


def _lime_result(explanation: Any, target: int, label: Any, names: list[str], class_label: Any) -> dict[str, Any]:
    rules = explanation.as_list(label=target)
    weights = explanation.as_map()[target]
    return {
        "index": _plain(label),
        "class_label": _plain(class_label),
        "features": [
            {"feature": names[j], "weight": float(weight), "rule": rule}
            for (j, weight), (rule, _) in zip(weights, rules, strict=True)
        ],
        "intercept": float(explanation.intercept[target]),
        "local_prediction": float(np.ravel(explanation.local_pred)[0]),
        "score": float(explanation.score),
    }


def lime_shap_agreement(lime_results: Sequence[Mapping[str, Any]], shap_values: pd.DataFrame) -> dict[str, Any]:
    """Per row, Spearman's rank correlation of |LIME weight| and |SHAP value| over LIME's top features.

    ``shap_values`` holds SHAP values indexed by row label, one column per feature. A row whose
    ranking is undefined (fewer than two features, or all weights tied) is reported, not dropped.
    """
    rows = [_row_agreement(result, shap_values) for result in lime_results]
    defined = [row["spearman"] for row in rows if row["spearman"] is not None]
    return {
        "method": "Spearman rank correlation of |LIME weight| and |SHAP value| over each row's LIME top features",
        "rows": rows,
        "summary": {
            "mean": float(np.mean(defined)) if defined else None,
            "min": float(np.min(defined)) if defined else None,
            "rows_compared": len(defined),
            "rows_undefined": len(rows) - len(defined),
            "top_feature_matches": sum(row["top_feature_lime"] == row["top_feature_shap"] for row in rows),
        },
    }


def _row_agreement(result: Mapping[str, Any], shap_values: pd.DataFrame) -> dict[str, Any]:
    from scipy.stats import spearmanr

    label, features = result["index"], [item["feature"] for item in result["features"]]
    if label not in shap_values.index:
        raise ExplanationInputError(f"no SHAP values for row {label!r}")
    missing = [name for name in features if name not in shap_values.columns]
    if missing:
        raise ExplanationInputError(f"the SHAP values have no column for {', '.join(missing)}")
    lime_weights = np.abs([item["weight"] for item in result["features"]])
    shap_weights = np.abs(shap_values.loc[label, features].to_numpy(dtype=np.float64))
    rho = spearmanr(lime_weights, shap_weights).statistic if len(features) > 1 else math.nan
    return {
        "index": label,
        "features": features,
        "spearman": None if not np.isfinite(rho) else float(rho),
        "top_feature_lime": features[int(np.argmax(lime_weights))] if features else None,
        "top_feature_shap": features[int(np.argmax(shap_weights))] if features else None,
    }

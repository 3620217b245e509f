"""Charts are PNG bytes, identical for identical inputs."""

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from evidence import explain

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def shap_sample():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 4)), columns=["income", "debt_ratio", "age", "tenure"])
    values = X.to_numpy() * np.array([0.5, -0.3, 0.1, 0.0])
    return values, X


def test_the_importance_bar_chart_is_deterministic(shap_sample):
    values, X = shap_sample
    importance = [
        {"feature": name, "mean_abs_shap": float(v)} for name, v in zip(X.columns, np.abs(values).mean(0), strict=True)
    ]

    chart = explain.importance_bar_png(importance)

    assert chart.startswith(PNG)
    assert explain.importance_bar_png(importance) == chart
    assert explain.importance_bar_png(dict(zip(X.columns, np.abs(values).mean(0), strict=True))) == chart
    assert explain.importance_bar_png(importance[:3]) != chart
    height, width, _ = imread(io.BytesIO(chart)).shape
    assert width == 700 and height > 100


def test_the_beeswarm_is_deterministic(shap_sample):
    values, X = shap_sample

    chart = explain.beeswarm_png(values, X, list(X.columns))

    assert chart.startswith(PNG)
    assert explain.beeswarm_png(values, X, list(X.columns)) == chart
    assert explain.beeswarm_png(values * 2, X, list(X.columns)) != chart
    with_gaps = X.copy()
    with_gaps.iloc[0, 0] = np.nan
    assert explain.beeswarm_png(values, with_gaps, list(X.columns)).startswith(PNG)


def test_charts_refuse_what_they_cannot_draw(shap_sample):
    values, X = shap_sample
    with pytest.raises(explain.ExplanationInputError, match="one shape"):
        explain.beeswarm_png(values[:, :3], X, list(X.columns))
    with pytest.raises(explain.ExplanationInputError, match="no feature importance"):
        explain.importance_bar_png([])


def test_both_charts_name_their_axes(shap_sample, monkeypatch):
    from evidence.explain import charts

    monkeypatch.setattr(charts, "_png", lambda figure: figure)  # the figure itself, before it becomes bytes
    values, X = shap_sample
    bars = charts.importance_bar_png({name: 1.0 for name in X.columns}).axes[0]
    swarm = charts.beeswarm_png(values, X, list(X.columns)).axes[0]
    assert bars.get_xlabel().startswith("mean |SHAP value|") and swarm.get_xlabel().startswith("SHAP value")
    assert bars.get_ylabel() == swarm.get_ylabel() == "feature (most important on top)"

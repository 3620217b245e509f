"""The per-group chart: a PNG, the same bytes for the same audit, and refusals for what the audit lacks."""

import io

import pandas as pd
import pytest
from matplotlib.image import imread

from evidence.fairness import bias_audit, group_metric_chart_png
from evidence.fairness.charts import group_metric_chart_png as chart_from_module
from tests.evidence.fairness.builders import random_audit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result():
    return random_audit(600, n_bootstrap=100, min_group_size=60)


def test_the_chart_is_a_png_with_one_panel_per_feature(result):
    everything, race_only = group_metric_chart_png(result), group_metric_chart_png(result, feature="race")

    assert everything.startswith(PNG_SIGNATURE)
    # Taller with the sex and intersection panels.
    assert imread(io.BytesIO(everything)).shape[0] > imread(io.BytesIO(race_only)).shape[0]


def test_the_same_audit_gives_the_same_bytes_from_the_result_or_its_dict(result):
    assert group_metric_chart_png(result) == chart_from_module(result.to_dict(), metric="selection_rate")


def test_another_metric_draws_another_chart(result):
    assert group_metric_chart_png(result, "false_positive_rate") != group_metric_chart_png(result)


def test_the_png_names_no_software_version(result):
    assert b"Software" not in group_metric_chart_png(result)


def test_an_unknown_metric_or_feature_is_refused(result):
    with pytest.raises(ValueError, match="unknown metric 'recall'"):
        group_metric_chart_png(result, "recall")
    with pytest.raises(ValueError, match="no feature 'age'"):
        group_metric_chart_png(result, feature="age")


def test_a_regression_audit_charts_its_mean_predictions():
    sensitive = pd.DataFrame({"group": ["A", "A", "A", "B", "B"]})
    result = bias_audit(y_true=[1, 2, 3, 10, 20], y_pred=[2, 2, 2, 12, 14], sensitive=sensitive, task="regression")

    assert group_metric_chart_png(result, "mean_prediction").startswith(PNG_SIGNATURE)


def test_each_panel_names_its_axes(result):
    from matplotlib.figure import Figure

    from evidence.fairness.charts import _panel

    data = result.to_dict()
    race = next(feature for feature in data["features"] if feature["name"] == "race")
    ax = Figure().subplots()
    _panel(ax, race, "selection_rate")
    assert ax.get_xlabel() == "selection rate (bar: estimate; whiskers: 95% bootstrap interval)"
    assert ax.get_ylabel() == "group of race (rows)"

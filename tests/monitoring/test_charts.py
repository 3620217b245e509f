"""The timeline's charts: a line per series with gaps where a window was not measured, the alert levels, and
text escaped."""

import xml.etree.ElementTree as ET

from monitoring.charts import Chart, Series, chart_svg
from monitoring.timeline import largest_feature_psi, timeline_charts, timeline_rows

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314  (markup this project generated in the test itself)


def test_a_gap_splits_the_line_and_the_svg_parses():
    chart = Chart("PSI <by> window", ["a", "b", "c", "d"], [Series("psi", [0.1, None, 0.2, 0.3])], [("alert", 0.15)])
    svg = _parse(chart_svg(chart))
    assert svg.find(f"{SVG}title").text == "PSI <by> window"  # escaped in the markup, intact once parsed
    assert len(svg.findall(f"{SVG}polyline")) == 2
    assert len(svg.findall(f"{SVG}circle")) == 3
    assert any(text.text == "alert 0.15" for text in svg.iter(f"{SVG}text"))


def test_an_interval_is_a_band_and_a_lone_window_a_whisker():
    many = Chart("m", ["a", "b"], [Series("auc", [0.7, 0.72], low=[0.65, 0.68], high=[0.75, 0.76])])
    assert _parse(chart_svg(many)).find(f"{SVG}polygon") is not None
    one = Chart("m", ["a"], [Series("auc", [0.7], low=[0.65], high=[0.75])])
    assert len(_parse(chart_svg(one)).findall(f"{SVG}line")) == 3  # two axes and the whisker


def test_nothing_measured_says_so():
    assert "nothing measured yet" in chart_svg(Chart("PSI", ["a"], [Series("psi", [None])]))


def _result(psi: float, auc: float, labelled: bool) -> dict:
    performance = {"metrics": {"roc_auc": {"value": auc, "low": auc - 0.02, "high": auc + 0.02}}}
    return {
        "verdict": "ok",
        "alerts": [],
        "primary_metric": "roc_auc",
        "monitors": {
            "feature_drift": {"features": {"age": {"psi": psi}, "priors": {"psi": psi / 2}}},
            "prediction_drift": {"psi": psi / 3},
            "performance": performance if labelled else {"status": "no_labels"},
            "estimated_performance": {"metrics": {"roc_auc": {"value": auc + 0.01, "estimate": True}}},
        },
        "reference": {"baseline": {"roc_auc": {"value": 0.72}}},
    }


def test_the_timeline_reads_the_stored_results():
    rows = timeline_rows(
        [{"label": "w1", "result": _result(0.05, 0.71, True)}, {"label": "w2", "result": _result(0.3, 0.6, False)}]
    )
    assert [row["feature_psi"] for row in rows] == [0.05, 0.3]
    assert rows[1]["realised"] is None and rows[1]["estimated"]["value"] == 0.61
    assert largest_feature_psi({"monitors": {}}) is None
    drift, performance = timeline_charts(rows, {"psi_alert": 0.15, "max_performance_drop": 0.1})
    assert "PSI alert 0.15" in drift
    assert "evaluation 0.72" in performance and "alerts beyond 0.648" in performance


def test_both_axes_have_titles():
    chart = Chart("PSI", ["a", "b"], [Series("psi", [0.1, 0.2])], y_title="population <stability> index")
    titles = [text.text for text in _parse(chart_svg(chart)).iter(f"{SVG}text") if text.get("class") == "axis-title"]
    assert titles == ["population <stability> index", "window (start)"]


def test_the_timelines_charts_say_what_each_axis_measures():
    rows = timeline_rows([{"label": "w1", "result": _result(0.1, 0.8, True)}])
    policy = {"psi_alert": 0.15, "max_performance_drop": 0.1}
    drift, performance = (_parse(svg) for svg in timeline_charts(rows, policy))
    titles = [
        [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "axis-title"] for svg in (drift, performance)
    ]
    assert titles == [
        ["population stability index", "production window (start)"],
        ["roc_auc (realised or estimated)", "production window (start)"],
    ]

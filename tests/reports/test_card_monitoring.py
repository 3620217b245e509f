"""The model card's production monitoring: the policy its windows were judged by (PSI 0.15 with its source),
each window's verdict and figures with a pointer to the stored result, in the document and in its HTML; a
card as of a moment leaves out the windows checked after it."""

import pytest

from monitoring.models import ProductionWindow
from reports.card import NO_DRIFT_CHECK, card_build
from reports.render import card_html
from tests.monitoring.test_admin import two_windows  # noqa: F401
from tests.monitoring.test_windows import compas, in_production, model  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_card_reports_each_window_and_the_policy(two_windows):  # noqa: F811
    card = card_build(version=two_windows, scope="combined")
    monitoring = card["monitoring"]
    assert monitoring["policy"]["psi_alert"] == 0.15 and "Siddiqi" in monitoring["policy"]["psi_alert_source"]
    assert monitoring["policy"]["retraining"] == ["on performance", "every 365 days"]
    first, second = monitoring["windows"]
    assert (first["verdict"], second["verdict"]) == ("ok", "alert")
    assert first["realised"]["ci"][0] < first["realised"]["value"] < first["realised"]["ci"][1]
    assert second["realised"] is None and second["estimated"]["estimate"] is True
    assert any(alert.startswith("feature_drift: PSI >= 0.15 on age") for alert in second["alerts"])
    stored = ProductionWindow.objects.get(pk=second["evidence"]["id"])
    assert second["evidence"]["sha256"] == stored.result_sha256
    assert monitoring["alerting_windows"] == 1 and monitoring["latest_verdict"] == "alert"
    html = card_html(card)
    assert "Production monitoring" in html and "(estimate)" in html
    assert f"window {stored.pk} " in html


def test_a_card_as_of_an_earlier_moment_leaves_later_windows_out(two_windows):  # noqa: F811
    first = ProductionWindow.objects.order_by("finished_at").first()
    card = card_build(version=two_windows, scope="combined", as_of=first.finished_at)
    assert [window["evidence"]["id"] for window in card["monitoring"]["windows"]] == [first.pk]


def test_a_card_without_windows_says_so(in_production):  # noqa: F811
    card = card_build(version=in_production, scope="combined")
    assert card["monitoring"]["windows"] == [] and card["monitoring"]["policy"]["source"] == "current policy"
    assert "No production window of this version has been checked yet." in card_html(card)
    assert NO_DRIFT_CHECK in card["limitations"]["computed"]


def test_monitored_windows_are_not_reported_as_production_data_never_compared(two_windows):  # noqa: F811
    card = card_build(version=two_windows, scope="combined")
    assert card["drift"] is None and NO_DRIFT_CHECK not in card["limitations"]["computed"]
    html = card_html(card)
    assert "production data has not yet been compared" not in html
    assert "production windows are compared with the reference data under Production monitoring" in html
    assert "<li>2026-11-08 to 2026-11-15: alerts: feature_drift" in html

"""The guardrail rules on their own: the traffic a strategy allows, and the rollback threshold's verdict."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from registry.rollback_rules import Window, threshold_judge, traffic_problem

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _window(minute: int, requests: int, errors: int = 0, length: int = 5, **latency) -> Window:
    start = T0 + timedelta(minutes=minute)
    return Window(start, start + timedelta(minutes=length), requests, errors, **latency)


@pytest.mark.parametrize(
    ("strategy", "percent", "fits"),
    [
        ("canary", Decimal("5"), True),
        ("canary", Decimal("99.99"), True),
        ("canary", Decimal("0"), False),
        ("canary", Decimal("100"), False),
        ("blue_green", Decimal("0"), True),
        ("blue_green", Decimal("100"), True),
        ("blue_green", Decimal("50"), False),
        ("shadow", Decimal("100"), True),
        ("shadow", Decimal("10"), True),
        ("shadow", Decimal("0"), False),
        ("all_at_once", Decimal("100"), True),
        ("all_at_once", Decimal("60"), False),
    ],
)
def test_each_strategy_allows_its_own_traffic_share(strategy, percent, fits):
    assert (traffic_problem(strategy, percent) is None) is fits


def test_no_threshold_no_verdict():
    assert threshold_judge({}, [_window(0, 1000, 900)]) is None


def test_an_error_rate_above_the_threshold_with_enough_requests_is_a_breach():
    verdict = threshold_judge({"metric": "error_rate", "above": 0.02}, [_window(0, 1000, 41)])
    assert (verdict.breached, verdict.observed, verdict.requests, verdict.min_requests) == (True, 0.041, 1000, 100)
    assert verdict.reason.startswith("error_rate 0.041 over 1000 requests in 1 window(s)")


def test_the_threshold_itself_is_not_above_it():
    verdict = threshold_judge({"metric": "error_rate", "above": 0.02}, [_window(0, 1000, 20)])
    assert verdict.breached is False and verdict.observed == 0.02


def test_too_few_requests_are_never_a_breach():
    threshold = {"metric": "error_rate", "above": 0.02, "min_requests": 50}
    verdict = threshold_judge(threshold, [_window(0, 3, 3)])
    assert verdict.breached is False and verdict.observed == 1.0
    assert verdict.reason.startswith("too few requests to judge: 3 requests")
    assert threshold_judge(threshold, [_window(0, 50, 3)]).breached is True


def test_no_requests_at_all_is_no_rate():
    verdict = threshold_judge({"metric": "error_rate", "above": 0.0, "min_requests": 1}, [_window(0, 0)])
    assert verdict.breached is False and verdict.observed is None


def test_without_a_period_only_the_newest_window_is_judged():
    windows = [_window(0, 1000, 500), _window(5, 1000, 0)]
    verdict = threshold_judge({"metric": "error_rate", "above": 0.02}, windows)
    assert (verdict.breached, verdict.windows, verdict.requests) == (False, 1, 1000)


def test_over_a_period_the_error_rate_is_pooled_from_the_windows_that_ended_within_it():
    # Three windows ended within the last 10 minutes of the newest (10:10..10:20]: 10:15 and 10:20 only.
    windows = [_window(0, 5000, 5000), _window(10, 1000, 30), _window(15, 3000, 30)]
    verdict = threshold_judge({"metric": "error_rate", "above": 0.02, "window_minutes": 10}, windows)
    assert (verdict.windows, verdict.requests, verdict.observed) == (2, 4000, 60 / 4000)
    assert verdict.breached is False
    assert verdict.since == (T0 + timedelta(minutes=10)).isoformat()
    wider = threshold_judge({"metric": "error_rate", "above": 0.02, "window_minutes": 20}, windows)
    assert (wider.windows, wider.breached) == (3, True)


def test_a_latency_must_stay_above_over_the_whole_period():
    windows = [_window(0, 400, latency_p99_ms=300.0), _window(5, 400, latency_p99_ms=180.0)]
    threshold = {"metric": "latency_p99_ms", "above": 250, "window_minutes": 15}
    verdict = threshold_judge(threshold, windows)
    assert (verdict.observed, verdict.breached) == (180.0, False)
    hot = [_window(0, 400, latency_p99_ms=300.0), _window(5, 400, latency_p99_ms=260.0)]
    assert threshold_judge(threshold, hot).breached is True


def test_a_latency_counts_only_the_requests_of_windows_that_measured_it():
    windows = [_window(0, 5000), _window(5, 60, latency_p95_ms=900.0)]
    verdict = threshold_judge({"metric": "latency_p95_ms", "above": 100, "window_minutes": 30}, windows)
    assert (verdict.requests, verdict.breached) == (60, False)

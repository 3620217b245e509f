"""Deployment guardrails as plain rules: which traffic share a strategy allows, and whether windows of live
traffic breach a deployment's rollback threshold; Django-free.

A breach needs enough requests to mean something: below the threshold's `min_requests` (100 when the
threshold does not say) the windows are judged "too few requests", never a breach, so one failed request
out of three is not a reason to roll back. With `window_minutes` the rule reads the windows that ended
within that many minutes of the newest one: the error rate pooled over them (errors / requests), or for a
latency percentile its lowest value among them, so the metric must have stayed above for the whole period.
Without it, the newest window alone is judged.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal

DEFAULT_MIN_REQUESTS = 100
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")

# What share of live traffic each strategy may send to the deployed version, and why.
TRAFFIC_RULES = {
    "canary": (lambda p: 0 < p < 100, "a canary serves part of the traffic: above 0 and below 100"),
    "blue_green": (
        lambda p: p in (0, 100),
        "blue-green switches all traffic at once: 0 (deployed, not yet switched) or 100",
    ),
    "shadow": (
        lambda p: 0 < p <= 100,
        "a shadow deployment mirrors a share of the traffic and serves none of its answers: above 0, up to 100",
    ),
    "all_at_once": (lambda p: p == 100, "an all-at-once deployment serves all the traffic: 100"),
}


def traffic_problem(strategy: str, traffic_percent: Decimal | float) -> str | None:
    """Why this traffic share does not fit the strategy, or None when it does."""
    allowed, rule = TRAFFIC_RULES[strategy]
    return None if allowed(traffic_percent) else rule


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    requests: int
    errors: int
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None


@dataclass(frozen=True)
class Verdict:
    metric: str
    above: float
    observed: float | None
    requests: int
    min_requests: int
    windows: int
    since: str
    breached: bool
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def _judged(threshold: dict, windows: list[Window]) -> list[Window]:
    newest = max(windows, key=lambda w: w.end)
    minutes = threshold.get("window_minutes")
    if not minutes:
        return [newest]
    since = newest.end - timedelta(minutes=minutes)
    return [w for w in windows if since < w.end <= newest.end]


def _observe(metric: str, windows: list[Window]) -> tuple[float | None, int]:
    if metric == "error_rate":
        requests = sum(w.requests for w in windows)
        return (sum(w.errors for w in windows) / requests if requests else None), requests
    measured = [w for w in windows if getattr(w, metric) is not None]
    observed = min((getattr(w, metric) for w in measured), default=None)
    return observed, sum(w.requests for w in measured)


def threshold_judge(threshold: dict, windows: list[Window]) -> Verdict | None:
    """The threshold's verdict on these windows (the newest among them is the one just reported); None when
    the deployment declared no threshold."""
    if not threshold or not windows:
        return None
    metric, above = threshold["metric"], threshold["above"]
    minimum = threshold.get("min_requests", DEFAULT_MIN_REQUESTS)
    judged = _judged(threshold, windows)
    observed, requests = _observe(metric, judged)
    since = min(w.start for w in judged).isoformat()
    scope = f"{requests} requests in {len(judged)} window(s) since {since}"
    if observed is None or requests < minimum:
        reason = f"too few requests to judge: {scope}, fewer than the {minimum} the threshold needs"
        breached = False
    else:
        breached = observed > above
        relation = "above" if breached else "not above"
        reason = f"{metric} {observed:.6g} over {scope} is {relation} the rollback threshold {above:g}"
    return Verdict(metric, above, observed, requests, minimum, len(judged), since, breached, reason)

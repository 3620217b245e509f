"""The model card's production monitoring: the policy its windows were judged by, and each window's verdict,
alerts and figures, read from the windows' stored results (monitoring.selectors decides which speak)."""

from datetime import datetime

from audits.ledger.hashing import format_ts
from monitoring.models import MonitoringPolicy
from monitoring.monitors import MONITORS
from monitoring.selectors import windows_current
from monitoring.timeline import largest_feature_psi
from registry.models import ModelVersion


def _estimate(metric: dict | None) -> dict | None:
    if not metric or metric.get("value") is None:
        return None
    return {
        "value": metric["value"],
        "ci": [metric.get("low"), metric.get("high")],
        "estimate": bool(metric.get("estimate")),
    }


def _window(window) -> dict:
    result = window.result
    primary = result["primary_metric"]
    monitors = result["monitors"]
    return {
        "evidence": {"kind": "production_window", "id": window.pk, "sha256": window.result_sha256},
        "start": format_ts(window.window_start),
        "end": format_ts(window.window_end),
        "finished_at": format_ts(window.finished_at),
        "rows": window.rows,
        "labelled": window.labelled,
        "verdict": result["verdict"],
        "alerts": [f"{alert['monitor']}: {alert['reason']}" for alert in result["alerts"]],
        "largest_feature_psi": largest_feature_psi(result),
        "prediction_psi": (monitors.get("prediction_drift") or {}).get("psi"),
        "metric": primary,
        "evaluation": ((result.get("reference") or {}).get("baseline") or {}).get(primary, {}).get("value"),
        "realised": _estimate(((monitors.get("performance") or {}).get("metrics") or {}).get(primary)),
        "estimated": _estimate(((monitors.get("estimated_performance") or {}).get("metrics") or {}).get(primary)),
    }


def _policy(snapshot: dict) -> dict:
    return {
        "risk_tier": snapshot["risk_tier"],
        "monitors": [name for name in MONITORS if snapshot["monitors"].get(name)],
        "psi_alert": snapshot["psi_alert"],
        "psi_alert_source": snapshot["psi_alert_source"],
        "min_rows": snapshot["min_rows"],
        "min_labelled_rows": snapshot["min_labelled_rows"],
        "max_performance_drop": snapshot["max_performance_drop"],
        "retraining": [
            *(["on drift"] if snapshot["retrain_on_drift"] else []),
            *(["on performance"] if snapshot["retrain_on_performance"] else []),
            *([f"every {snapshot['retrain_every_days']} days"] if snapshot["retrain_every_days"] else []),
        ],
    }


def monitoring_section(version: ModelVersion, as_of: datetime | None) -> tuple[dict, list[datetime]]:
    """The section, and the timestamps it read (for the card's generated_at)."""
    from monitoring.services import monitoring_policy_snapshot

    windows = windows_current(version, as_of=as_of)
    if windows:
        policy, source = windows[-1].policy, "as the latest window was judged"
        stamps = [window.finished_at for window in windows]
    else:
        current = MonitoringPolicy.objects.get(risk_tier=version.model.risk_tier)
        policy, source, stamps = monitoring_policy_snapshot(current), "current policy", [current.updated_at]
        stamps = [] if as_of is not None else stamps  # a card as of a moment does not move with later edits
    shown = [_window(window) for window in windows]
    section = {
        "policy": {**_policy(policy), "source": source},
        "windows": shown,
        "alerting_windows": sum(1 for window in shown if window["verdict"] == "alert"),
        "latest_verdict": shown[-1]["verdict"] if shown else None,
    }
    return section, stamps

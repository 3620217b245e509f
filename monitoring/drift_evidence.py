"""What a checked production window says about drift, read as evidence for an approval. Django-free: it reads
the result a window's monitors recorded (monitoring.monitors.window_report) and nothing else.

A window is drift evidence when one of its drift monitors judged the rows: "drift" when any did find drift,
"stable" when those that judged found none. A window whose drift monitors all lacked data (or that ran none)
judges nothing and is no evidence either way.
"""

from collections.abc import Mapping
from typing import Any

from monitoring.monitors import DRIFT_MONITORS

JUDGED = ("stable", "drift")


def window_drift_reading(result: Mapping[str, Any] | None) -> dict | None:
    """{verdict: stable|drift, reason, drifted_features} for a window's result; None when it judged no drift."""
    monitors = (result or {}).get("monitors") or {}
    judged = {name: monitors[name] for name in DRIFT_MONITORS if (monitors.get(name) or {}).get("status") in JUDGED}
    if not judged:
        return None
    drifted = {name: found for name, found in judged.items() if found["status"] == "drift"}
    features = (monitors.get("feature_drift") or {}).get("features") or {}
    return {
        "verdict": "drift" if drifted else "stable",
        "reason": "; ".join(f"{name}: {found['reason']}" for name, found in (drifted or judged).items()),
        "drifted_features": sorted(name for name, feature in features.items() if feature.get("status") == "drift"),
    }

"""A drift or monitoring alert opens the production re-review of the version it marked, in the alert's own
transaction.

The alerts are written by the evidence and monitoring layers, which do not know about approvals: they reach
this module through the trail's explicit after-append hook (audits.services.after_append), as webhooks do.
"""

import json

from approvals.services import approval_rereview_open
from registry.models import ModelVersion


def drift_alert_rereview(action: str):
    if action == "drift.alert":
        return _open_rereview
    if action == "monitoring.alert":
        return _open_rereview_after_monitoring
    return None


def _open_rereview(event) -> None:
    data = json.loads(bytes(event.body))["data"]
    if data.get("review_required"):
        _open_for(event, trigger=f"drift alert (evidence job {data['job']})", ref=f"audits.evidencejob:{data['job']}")


def _open_rereview_after_monitoring(event) -> None:
    data = json.loads(bytes(event.body))["data"]
    if data.get("review_required"):
        monitors = ", ".join(alert["monitor"] for alert in data["alerts"])
        trigger = f"monitoring alert ({monitors}; window {data['window']})"[:200]
        _open_for(event, trigger=trigger, ref=f"monitoring.productionwindow:{data['window']}")


def _open_for(event, *, trigger: str, ref: str) -> None:
    label, _, pk = event.object_ref.partition(":")
    version = ModelVersion.objects.filter(pk=int(pk)).first() if label == "registry.modelversion" else None
    if version is not None:
        approval_rereview_open(version=version, trigger=trigger, trigger_ref=ref)

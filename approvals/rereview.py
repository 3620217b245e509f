"""A drift alert opens the production re-review of the version it marked, in the alert's own transaction.

The alert is written by the evidence layer, which does not know about approvals: it reaches this module
through the trail's explicit after-append hook (audits.services.after_append), as webhooks do.
"""

import json

from approvals.services import approval_rereview_open
from registry.models import ModelVersion


def drift_alert_rereview(action: str):
    if action != "drift.alert":
        return None
    return _open_rereview


def _open_rereview(event) -> None:
    data = json.loads(bytes(event.body))["data"]
    if not data.get("review_required"):
        return
    label, _, pk = event.object_ref.partition(":")
    version = ModelVersion.objects.filter(pk=int(pk)).first() if label == "registry.modelversion" else None
    if version is not None:
        approval_rereview_open(version=version, trigger=f"drift alert (evidence job {data['job']})")

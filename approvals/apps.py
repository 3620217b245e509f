from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from approvals.rereview import drift_alert_rereview
        from audits.services import after_append

        after_append(drift_alert_rereview)

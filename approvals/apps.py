from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from django.contrib import admin

        from approvals.rereview import drift_alert_rereview
        from audits.services import after_append

        # The stock index with the officers' and auditors' panels above the app list (an app template named
        # admin/index.html would lose to django.contrib.admin's own, which is installed first).
        admin.site.index_template = "approvals/admin_index.html"

        after_append(drift_alert_rereview)

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        from governance.celery import register_periodic

        register_periodic("report-sweep", "reports.report_sweep", 60)

"""Celery tasks of the reports: thin, they take ids and call the services in reports/jobs.py."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError


@shared_task(
    name="reports.render_report",
    bind=True,
    ignore_result=True,  # the report's state and digests live in its row
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def render_report(self, report_pk: int) -> str | None:
    """The row is claimed with a conditional UPDATE, so a duplicate or redelivered message does nothing."""
    from reports.jobs import report_run

    return report_run(report_pk)


@shared_task(name="reports.rederive_report", ignore_result=True)
def rederive_report(report_pk: int, user_pk: int) -> bool | None:
    """Running it twice re-renders twice and records both comparisons: harmless."""
    from reports.jobs import report_rederive
    from reports.models import Report

    report = Report.objects.select_related("version__model", "version__artifact").get(pk=report_pk)
    user = get_user_model().objects.get(pk=user_pk)
    return report_rederive(report=report, user=user).rederive_matches


@shared_task(name="reports.report_sweep", ignore_result=True)
def report_sweep() -> dict:
    from reports.jobs import report_sweep as sweep

    return sweep()

"""Thin tasks over production windows: they take ids and call the runner or a service."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    name="monitoring.run_production_window",
    ignore_result=True,  # the window's state and result live in its row
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def run_production_window(window_pk: int) -> str | None:
    """Thin: the runner claims the row, so a duplicate or redelivered message does nothing."""
    from monitoring.runner import run_window

    return run_window(window_pk)


@shared_task(name="monitoring.sweep", ignore_result=True)
def monitoring_sweep() -> dict:
    from monitoring.services import monitoring_sweep as sweep

    return sweep()

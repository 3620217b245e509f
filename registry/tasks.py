from celery import shared_task

from registry.services import model_version_mlflow_mark


@shared_task(
    name="registry.mlflow_mark_production", bind=True, max_retries=5, retry_backoff=True, retry_backoff_max=600
)
def mlflow_mark_production(self, version_pk: int) -> bool:
    """Thin: the service decides and audits; an unreachable tracking server is retried."""
    from mlio.mlflow import MlflowImportError

    try:
        return model_version_mlflow_mark(version_pk=version_pk)
    except MlflowImportError as exc:
        if exc.code == "unreachable":
            raise self.retry(exc=exc) from exc
        raise


@shared_task(name="registry.deliver_webhook", bind=True, ignore_result=True)
def deliver_webhook(self, delivery_pk: int) -> str | None:
    from registry.webhooks import deliver

    return deliver(delivery_pk)


@shared_task(name="registry.webhooks_dispatch_due", ignore_result=True)
def webhooks_dispatch_due() -> int:
    from registry.webhooks import dispatch_due

    return dispatch_due()

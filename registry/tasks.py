from celery import shared_task
from django.conf import settings
from django.db import transaction

from audits.services import audit_event_append, object_ref
from registry.approvals import approvals_expire
from registry.models import ModelVersion


@shared_task(name="registry.approvals_expire")
def expire_approvals() -> int:
    return approvals_expire()


@shared_task(
    name="registry.mlflow_mark_production", bind=True, max_retries=5, retry_backoff=True, retry_backoff_max=600
)
def mlflow_mark_production(self, version_pk: int) -> bool:
    """Sets the configured alias and a tag in MLflow when an imported version reaches production."""
    from registry.mlflow_bridge import MlflowImportError, set_production_marker

    version = ModelVersion.objects.select_related("model").get(pk=version_pk)
    lineage = version.lineage
    if (
        not settings.MLFLOW_PRODUCTION_ALIAS
        or not lineage.get("mlflow_tracking_uri")
        or not lineage.get("mlflow_model_name")
        or version.stage != "production"
    ):
        return False
    try:
        set_production_marker(
            tracking_uri=lineage["mlflow_tracking_uri"],
            model_name=lineage["mlflow_model_name"],
            version=lineage["mlflow_model_version"],
            alias=settings.MLFLOW_PRODUCTION_ALIAS,
        )
    except MlflowImportError as exc:
        if exc.code == "unreachable":
            raise self.retry(exc=exc) from exc
        raise
    with transaction.atomic():
        audit_event_append(
            actor="system",
            action="model_version.mlflow_marked",
            object_ref=object_ref(version),
            data={
                "alias": settings.MLFLOW_PRODUCTION_ALIAS,
                "mlflow_model": lineage["mlflow_model_name"],
                "mlflow_version": lineage["mlflow_model_version"],
            },
        )
    return True


@shared_task(name="registry.deliver_webhook", bind=True, ignore_result=True)
def deliver_webhook(self, delivery_pk: int) -> str | None:
    from registry.webhooks import deliver

    return deliver(delivery_pk)


@shared_task(name="registry.webhooks_dispatch_due", ignore_result=True)
def webhooks_dispatch_due() -> int:
    from registry.webhooks import dispatch_due

    return dispatch_due()

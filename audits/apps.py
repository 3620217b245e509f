from django.apps import AppConfig
from django.conf import settings


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from governance.celery import register_periodic

        register_periodic("audit-checkpoint", "audits.checkpoint_create", settings.AUDIT_CHECKPOINT_INTERVAL)
        register_periodic("evidence-sweep", "audits.evidence_sweep", 60)

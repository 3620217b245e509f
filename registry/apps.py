from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry and approvals"

    def ready(self) -> None:
        from governance.celery import register_periodic

        # The gate checks expiry dates itself; this only records the expiry in the trail.
        register_periodic("approvals-expire", "registry.approvals_expire", 300)
        register_periodic("webhooks-dispatch-due", "registry.webhooks_dispatch_due", 60)

        from audits.services import after_append
        from registry.webhooks import fan_out

        after_append(fan_out)

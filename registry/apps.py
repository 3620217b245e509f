from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry"

    def ready(self) -> None:
        from audits.services import after_append, after_checkpoint
        from registry.webhooks import checkpoint_publish, fan_out

        after_append(fan_out)
        after_checkpoint(checkpoint_publish)

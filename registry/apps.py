from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry"

    def ready(self) -> None:
        from audits.services import after_append
        from registry.webhooks import fan_out

        after_append(fan_out)

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Model registry"

    def ready(self) -> None:
        from django.conf import settings

        from audits.services import after_append, after_checkpoint
        from mlio.confinement import use_fork_server
        from registry.webhooks import checkpoint_publish, fan_out

        after_append(fan_out)
        after_checkpoint(checkpoint_publish)
        use_fork_server(settings.EVALUATION_FORK_SERVER)

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Accounts and service accounts"

    def ready(self) -> None:
        from governance import authentication  # noqa: F401  (registers the OpenAPI auth scheme)

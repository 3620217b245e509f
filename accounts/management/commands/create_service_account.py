from django.core.management.base import BaseCommand, CommandError

from accounts.services import service_account_create
from core import roles
from core.errors import DomainError


class Command(BaseCommand):
    help = "Create a service account (a CI pipeline) and print its API token once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="lowercase slug, e.g. ci-main")
        parser.add_argument("--role", default=roles.CI, choices=roles.SERVICE_ACCOUNT_ROLES)
        parser.add_argument("--description", default="")
        parser.add_argument("--team", default=None, help="the team (team:<name>) whose models it acts on")

    def handle(self, *args, name, role, description, team, **options):
        try:
            account, token = service_account_create(
                name=name, role=role, description=description, team=team, actor="system:cli"
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(
            f"Service account {account.name!r} created with role {role}. "
            "The token below is shown once; only its SHA-256 is kept."
        )
        self.stdout.write(token)

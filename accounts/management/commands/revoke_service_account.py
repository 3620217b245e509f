from django.core.management.base import BaseCommand, CommandError

from accounts.models import ServiceAccount
from accounts.services import service_account_revoke


class Command(BaseCommand):
    help = "Revoke a service account and every token it holds."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        account = ServiceAccount.objects.filter(name=name).first()
        if account is None:
            raise CommandError(f"No service account named {name!r}.")
        service_account_revoke(account=account, actor="system:cli")
        self.stdout.write(f"Service account {name!r} revoked.")

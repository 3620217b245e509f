import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from governance import roles
from governance.models import ServiceAccount
from governance.services import service_account_create, user_create

DEMO_USERS = [
    ("admin", None),
    ("officer", roles.COMPLIANCE_OFFICER),
    ("officer2", roles.COMPLIANCE_OFFICER),
    ("auditor", roles.AUDITOR),
    ("scientist", roles.DATA_SCIENTIST),
]


class Command(BaseCommand):
    help = "Create one demo user per role and a CI service account; passwords are printed once."

    @transaction.atomic
    def handle(self, *args, **options):
        for username, role in DEMO_USERS:
            if get_user_model().objects.filter(username=username).exists():
                self.stdout.write(f"  {username:<10} exists (password shown when it was created)")
                continue
            password = secrets.token_urlsafe(12)
            user_create(
                username=username,
                password=password,
                role=role,
                is_staff=True,
                is_superuser=role is None,
                actor="system:cli",
            )
            self.stdout.write(f"  {username:<10} {role or 'superuser':<20} password: {password}")
        if not ServiceAccount.objects.filter(name="demo-ci").exists():
            _, token = service_account_create(name="demo-ci", description="Demo CI pipeline", actor="system:cli")
            self.stdout.write(f"  demo-ci    ci (service account)  token:    {token}")

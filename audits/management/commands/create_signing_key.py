from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audits.keys import public_pem, write_new_key


class Command(BaseCommand):
    help = "Create the Ed25519 checkpoint signing key at AUDIT_SIGNING_KEY_FILE and print its public key."

    def handle(self, *args, **options):
        path = settings.AUDIT_SIGNING_KEY_FILE
        if path.exists():
            raise CommandError(f"{path} exists; a signing key is never overwritten.")
        write_new_key(path)
        self.stderr.write(f"Signing key written to {path}. Give auditors this public key:")
        self.stdout.write(public_pem().decode())

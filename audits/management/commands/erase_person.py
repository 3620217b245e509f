from django.core.management.base import BaseCommand, CommandError

from audits.services import person_erase


class Command(BaseCommand):
    help = "GDPR Art. 17: erase a person's data kept beside the audit trail (e.g. user:17)."

    def add_arguments(self, parser):
        parser.add_argument("subject", help="pseudonymous id, e.g. user:17")

    def handle(self, *args, subject, **options):
        if not subject.startswith("user:") or not subject[5:].isdigit():
            raise CommandError("subject must look like user:17")
        event = person_erase(subject=subject, actor="system:cli")
        self.stdout.write(f"Erased; recorded as audit event #{event.seq}.")

from django.core.management.base import BaseCommand, CommandError

from audits.services import ChainBroken, checkpoint_create


class Command(BaseCommand):
    help = "Verify the trail and sign a checkpoint of its head (Celery beat does this periodically)."

    def handle(self, *args, **options):
        try:
            checkpoint = checkpoint_create()
        except ChainBroken as exc:
            raise CommandError(str(exc)) from exc
        if checkpoint is None:
            self.stdout.write("The audit trail is empty: nothing to sign.")
        else:
            self.stdout.write(f"Checkpoint at {checkpoint.size} events, head {checkpoint.head}")

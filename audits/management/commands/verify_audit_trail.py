import json

from django.core.management.base import BaseCommand

from audits.selectors import audit_trail_verify


class Command(BaseCommand):
    help = "Verify the stored audit trail and its checkpoints. Exit status 0 when it verifies, 1 when not."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        result = audit_trail_verify()
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json()))
        elif result.ok:
            self.stdout.write(
                f"OK: {result.size} events, head {result.head}, {result.checkpoints_checked} checkpoints verified"
            )
        else:
            self.stdout.write(f"FAILED at seq {result.bad_seq} ({result.code}): {result.reason}")
        if not result.ok:
            raise SystemExit(1)

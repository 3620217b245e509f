import sys

from django.core.management.base import BaseCommand, CommandError

from audits.selectors import export_lines


class Command(BaseCommand):
    help = "Write the audit trail as JSON Lines (docs/audit-trail.md) to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="file to write (default: stdout)")
        parser.add_argument("--from", dest="from_seq", type=int, default=1, help="first seq (default 1)")
        parser.add_argument("--to", dest="to_seq", type=int, default=None, help="last seq (default: the head)")

    def handle(self, *args, output, from_seq, to_seq, **options):
        if from_seq < 1 or (to_seq is not None and to_seq < from_seq):
            raise CommandError("--from must be >= 1 and --to >= --from")
        target = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
        try:
            for line in export_lines(from_seq=from_seq, to_seq=to_seq):
                target.write(line)
        finally:
            target.flush()
            if output:
                target.close()

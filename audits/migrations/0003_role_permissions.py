from django.db import migrations

from core.migration_helpers import grant

READERS = ["view_auditevent", "view_checkpoint"]


def grant_read(apps, schema_editor):
    grant(apps, "audits", {"compliance_officer": READERS, "auditor": READERS})


class Migration(migrations.Migration):
    dependencies = [("audits", "0002_append_only_triggers"), ("governance", "0002_roles")]

    operations = [migrations.RunPython(grant_read, migrations.RunPython.noop)]

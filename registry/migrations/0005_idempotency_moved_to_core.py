"""Idempotency records now belong to the core app; the table keeps its name."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_policy_thresholds_and_waivers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is; only Django's idea of which app owns it changes.
            state_operations=[
                migrations.DeleteModel(
                    name="IdempotencyRecord",
                ),
            ],
        ),
    ]

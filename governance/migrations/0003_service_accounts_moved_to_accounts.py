"""Service accounts and tokens now belong to the accounts app; their tables keep their names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is; only Django's idea of which app owns it changes.
            state_operations=[
                migrations.RemoveField(
                    model_name="serviceaccount",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="ApiToken",
                ),
                migrations.DeleteModel(
                    name="ServiceAccount",
                ),
            ],
        ),
    ]

"""Every model has its team from here on (0010 gave the older ones `team:default`)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry", "0012_registeredmodel_team")]

    operations = [
        migrations.AlterField(
            model_name="registeredmodel",
            name="team",
            field=models.ForeignKey(
                limit_choices_to={"name__startswith": "team:"},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="models",
                to="auth.group",
            ),
        ),
    ]

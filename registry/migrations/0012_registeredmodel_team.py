"""Models get an owning team. Every model registered before teams existed goes to `team:default`, which
every holder of a registering role (ci, data_scientist) joins, so nobody loses what they could do; a
superuser then moves models to their real teams (each move audited) and people between teams."""

import django.db.models.deletion
from django.db import migrations, models

DEFAULT_TEAM = "team:default"
REGISTERING_ROLES = ("ci", "data_scientist")


def default_team(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    RegisteredModel = apps.get_model("registry", "RegisteredModel")
    User = apps.get_model("auth", "User")
    team, _ = Group.objects.get_or_create(name=DEFAULT_TEAM)
    RegisteredModel.objects.filter(team__isnull=True).update(team=team)
    for user in User.objects.filter(groups__name__in=REGISTERING_ROLES).distinct():
        user.groups.add(team)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_service_accounts_join_teams"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("registry", "0011_policy_evaluation_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="registeredmodel",
            name="team",
            field=models.ForeignKey(
                null=True,
                limit_choices_to={"name__startswith": "team:"},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="models",
                to="auth.group",
            ),
        ),
        migrations.RunPython(default_team, migrations.RunPython.noop),
    ]

"""Takes over ServiceAccount and ApiToken from the governance app: state only, the tables exist."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_helpers import content_types_move, content_types_move_back

MOVED = ["serviceaccount", "apitoken"]


def move_content_types(apps, schema_editor):
    content_types_move(apps, "governance", "accounts", MOVED)


def move_content_types_back(apps, schema_editor):
    content_types_move_back(apps, "governance", "accounts", MOVED)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("governance", "0003_service_accounts_moved_to_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is; only Django's idea of which app owns it changes.
            state_operations=[
                migrations.CreateModel(
                    name="ServiceAccount",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.SlugField(max_length=100, unique=True)),
                        ("description", models.CharField(blank=True, max_length=300)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="service_account",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "governance_serviceaccount",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="ApiToken",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("prefix", models.CharField(max_length=16, unique=True)),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "service_account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="tokens",
                                to="accounts.serviceaccount",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "governance_apitoken",
                        "ordering": ["-created_at"],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("digest__regex", "^[0-9a-f]{64}$")),
                                name="apitoken_digest_is_sha256",
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]

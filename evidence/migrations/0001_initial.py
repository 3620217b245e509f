"""Takes over EvidenceJob and EvidenceChunk from the audits app: state only, the tables exist."""

import django.db.models.deletion
from django.db import migrations, models

from core.migration_helpers import content_types_move, content_types_move_back

MOVED = ["evidencejob", "evidencechunk"]


def move_content_types(apps, schema_editor):
    content_types_move(apps, "audits", "evidence", MOVED)


def move_content_types_back(apps, schema_editor):
    content_types_move_back(apps, "audits", "evidence", MOVED)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("audits", "0006_evidence_jobs_moved_to_evidence"),
        ("registry", "0005_idempotency_moved_to_core"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is; only Django's idea of which app owns it changes.
            state_operations=[
                migrations.CreateModel(
                    name="EvidenceJob",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("explanation", "Explanation"),
                                    ("bias_audit", "Bias Audit"),
                                    ("drift_check", "Drift Check"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("params", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("queued", "Queued"),
                                    ("running", "Running"),
                                    ("succeeded", "Succeeded"),
                                    ("failed", "Failed"),
                                ],
                                default="queued",
                                max_length=20,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("progress_done", models.BigIntegerField(default=0)),
                        ("progress_total", models.BigIntegerField(default=0)),
                        ("artifact_sha256", models.CharField(blank=True, max_length=64)),
                        ("dataset_sha256", models.CharField(max_length=64)),
                        ("result", models.JSONField(blank=True, null=True)),
                        ("result_sha256", models.CharField(blank=True, max_length=64)),
                        ("verdict", models.CharField(blank=True, max_length=20)),
                        ("error", models.TextField(blank=True)),
                        ("requested_by", models.CharField(max_length=200)),
                        ("enqueued_at", models.DateTimeField(blank=True, null=True)),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("explainer_sha256", models.CharField(blank=True, max_length=64)),
                        ("merge_claimed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "dataset",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.dataset"
                            ),
                        ),
                        (
                            "reference",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="registry.dataset",
                            ),
                        ),
                        (
                            "version",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="evidence_jobs",
                                to="registry.modelversion",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "audits_evidencejob",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="EvidenceChunk",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("number", models.PositiveIntegerField()),
                        ("start", models.PositiveIntegerField()),
                        ("stop", models.PositiveIntegerField()),
                        ("rows_sha256", models.CharField(max_length=64)),
                        ("background_sha256", models.CharField(blank=True, max_length=64)),
                        ("shap_sha256", models.CharField(blank=True, max_length=64)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "job",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="chunks",
                                to="evidence.evidencejob",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "audits_evidencechunk",
                        "ordering": ["job", "number"],
                    },
                ),
                migrations.AddIndex(
                    model_name="evidencejob",
                    index=models.Index(fields=["status", "enqueued_at"], name="audits_evid_status_d80232_idx"),
                ),
                migrations.AddConstraint(
                    model_name="evidencechunk",
                    constraint=models.UniqueConstraint(fields=("job", "number"), name="evidencechunk_unique_number"),
                ),
                migrations.AddConstraint(
                    model_name="evidencechunk",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("stop__gt", models.F("start"))), name="evidencechunk_rows_in_order"
                    ),
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]

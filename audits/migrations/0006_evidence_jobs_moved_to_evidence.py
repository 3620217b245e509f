"""Evidence jobs and chunks now belong to the evidence app; their tables keep their names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0005_evidence_chunks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays where it is; only Django's idea of which app owns it changes.
            state_operations=[
                migrations.RemoveField(
                    model_name="evidencejob",
                    name="dataset",
                ),
                migrations.RemoveField(
                    model_name="evidencejob",
                    name="reference",
                ),
                migrations.RemoveField(
                    model_name="evidencejob",
                    name="version",
                ),
                migrations.DeleteModel(
                    name="EvidenceChunk",
                ),
                migrations.DeleteModel(
                    name="EvidenceJob",
                ),
            ],
        ),
    ]

from django.db import migrations

from core.migration_helpers import grant

# Defaults from the product's policy: low 1 approval; medium 2; high 2 with at least one compliance officer.
DEFAULTS = {"low": (1, 0), "medium": (2, 0), "high": (2, 1)}
READ = [
    "view_registeredmodel",
    "view_modelversion",
    "view_dataset",
    "view_approvalpolicy",
    "view_approvalrequest",
    "view_approvaldecision",
    "view_deployment",
    "view_artifact",
]


def create_policies(apps, schema_editor):
    ApprovalPolicy = apps.get_model("registry", "ApprovalPolicy")
    for tier, (approvals, officers) in DEFAULTS.items():
        ApprovalPolicy.objects.get_or_create(
            risk_tier=tier, defaults={"approvals_required": approvals, "officer_approvals_required": officers}
        )
    grant(apps, "registry", {"compliance_officer": READ, "auditor": READ, "data_scientist": READ})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial"), ("governance", "0002_roles")]

    operations = [migrations.RunPython(create_policies, migrations.RunPython.noop)]

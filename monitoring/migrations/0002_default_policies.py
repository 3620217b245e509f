from django.db import migrations

from core.migration_helpers import grant

ALL = {
    "feature_drift": True,
    "prediction_drift": True,
    "performance": True,
    "concept_drift": True,
    "estimated_performance": True,
}
# Per risk tier: the monitors, the relative drop of the primary metric that alerts, what asks for retraining.
# Every tier alerts at PSI 0.15 (its source is the model's default); a higher tier reacts sooner and more often.
DEFAULTS = {
    "low": {"max_performance_drop": 0.1, "retrain_on_drift": False, "retrain_every_days": None},
    "medium": {"max_performance_drop": 0.1, "retrain_on_drift": False, "retrain_every_days": 365},
    "high": {"max_performance_drop": 0.05, "retrain_on_drift": True, "retrain_every_days": 180},
}
READ = ["view_monitoringpolicy", "view_productionwindow"]


def create_policies(apps, schema_editor):
    MonitoringPolicy = apps.get_model("monitoring", "MonitoringPolicy")
    for tier, fields in DEFAULTS.items():
        MonitoringPolicy.objects.get_or_create(
            risk_tier=tier, defaults={"monitors": ALL, "retrain_on_performance": True, **fields}
        )
    grant(apps, "monitoring", {"compliance_officer": READ, "auditor": READ, "data_scientist": READ})


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial"), ("governance", "0002_roles")]

    operations = [migrations.RunPython(create_policies, migrations.RunPython.noop)]

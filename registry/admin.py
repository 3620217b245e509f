"""The registry in the admin: models, versions, data sets and deployments, read-only."""

from django.contrib import admin

from audits.admin import ReadOnlyAdmin
from registry.models import Dataset, Deployment, ModelVersion
from registry.models import RegisteredModel as Model


@admin.register(Model)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "risk_tier", "business_owner", "created_at"]
    list_filter = ["risk_tier"]
    search_fields = ["name"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "version", "stage", "review_required", "framework", "created_at"]
    list_filter = ["stage", "review_required"]
    search_fields = ["model__name", "version"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "model", "format", "size", "sha256", "created_at"]
    list_filter = ["kind"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ["version", "environment", "strategy", "traffic_percent", "created_at"]

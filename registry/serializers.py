"""Shapes shared by the registry's APIs; each API keeps its own input serializer."""

import json

from rest_framework import serializers

from registry.models import DATA_CLASSES, FRAMEWORKS, ApprovalPolicy, Dataset, ModelVersion, RegisteredModel


class JsonField(serializers.JSONField):
    """Accepts a JSON object given either as JSON or, in multipart forms, as a JSON string."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise serializers.ValidationError(f"Not valid JSON: {exc.msg} at character {exc.pos}.") from exc
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return super().to_internal_value(data)


class LineageSerializer(serializers.Serializer):
    training_data_reference = serializers.CharField(required=False, max_length=500)
    training_data_sha256 = serializers.RegexField(r"^[0-9a-f]{64}$", required=False)
    code_repository = serializers.CharField(required=False, max_length=500)
    code_commit = serializers.RegexField(r"^[0-9a-f]{7,64}$", required=False)
    mlflow_tracking_uri = serializers.CharField(required=False, max_length=500)
    mlflow_run_id = serializers.CharField(required=False, max_length=100)
    mlflow_model_name = serializers.CharField(required=False, max_length=200)
    mlflow_model_version = serializers.CharField(required=False, max_length=50)
    pipeline = serializers.CharField(required=False, max_length=100, help_text="orchestrator, e.g. github-actions")
    pipeline_run = serializers.CharField(required=False, max_length=200)
    feature_store = serializers.CharField(required=False, max_length=200)
    feature_group = serializers.CharField(required=False, max_length=200)
    feature_group_version = serializers.CharField(required=False, max_length=50)
    hyperparameter_search_method = serializers.CharField(required=False, max_length=100)
    hyperparameter_search_trials = serializers.IntegerField(required=False, min_value=0)


class VersionMetadataSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=50)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.DictField(child=serializers.CharField(max_length=500), required=False, default=dict)
    metrics = serializers.DictField(child=serializers.FloatField(), required=False, default=dict)
    lineage = LineageSerializer(required=False, default=dict)
    known_limitations = serializers.CharField(required=False, allow_blank=True, default="")
    sample_dataset = serializers.PrimaryKeyRelatedField(
        queryset=Dataset.objects.all(), required=False, allow_null=True, default=None
    )

    def validate_metrics(self, value):
        import math

        bad = [name for name, number in value.items() if not math.isfinite(number)]
        if bad:
            raise serializers.ValidationError(f"{bad[0]}: must be a finite number.")
        return value


class ModelOutput(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    production_version = serializers.SerializerMethodField()
    rollback_target = serializers.SlugRelatedField(slug_field="version", read_only=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "description",
            "owner",
            "business_owner",
            "risk_tier",
            "intended_use",
            "out_of_scope_uses",
            "frameworks",
            "data_classification",
            "production_version",
            "rollback_target",
            "created_at",
        ]

    def get_owner(self, obj) -> str:
        return f"user:{obj.owner_id}"

    def get_production_version(self, obj) -> str | None:
        current = obj.versions.filter(stage="production").values_list("version", flat=True).first()
        return current


class ModelVersionOutput(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    artifact_sha256 = serializers.CharField(source="artifact.sha256", default=None, read_only=True)
    artifact_size = serializers.IntegerField(source="artifact.size", default=None, read_only=True)
    submitted_by = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "version",
            "stage",
            "review_required",
            "artifact_sha256",
            "artifact_size",
            "flavor",
            "framework",
            "framework_version",
            "description",
            "tags",
            "metrics",
            "lineage",
            "known_limitations",
            "artifact_report",
            "submitted_by",
            "created_at",
        ]

    def get_submitted_by(self, obj) -> str:
        return f"user:{obj.submitted_by_id}"


class DatasetOutput(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "model", "sha256", "size", "format", "schema", "profile", "created_at"]


class PolicyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApprovalPolicy
        fields = [
            "risk_tier",
            "approvals_required",
            "officer_approvals_required",
            "requires_explanation",
            "requires_bias_audit",
            "requires_model_cards",
            "requires_drift_check_for_reapproval",
            "validity_days",
            "evidence_max_age_days",
            "bias_min_selection_rate_ratio",
            "bias_max_equalized_odds_difference",
            "updated_at",
        ]


MODEL_CHOICES = {"frameworks": FRAMEWORKS, "data_classification": DATA_CLASSES}

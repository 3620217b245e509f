"""Shapes shared by the registry's APIs; each API keeps its own input serializer."""

import math

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.parsers import InvalidJson, json_loads
from core.serializers import StrictSerializer
from registry.models import (
    DATA_CLASSES,
    FRAMEWORKS,
    ApprovalPolicy,
    Dataset,
    Deployment,
    DeploymentHealthReport,
    ModelVersion,
    RegisteredModel,
)
from registry.policies import POLICY_FIELDS
from registry.rollback_rules import DEFAULT_MIN_REQUESTS
from registry.selectors import datasets_readable


class JsonField(serializers.JSONField):
    """Accepts a JSON object given either as JSON or, in multipart forms, as a JSON string."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json_loads(data)
            except InvalidJson as exc:
                raise serializers.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return super().to_internal_value(data)


class LineageSerializer(StrictSerializer):
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


class ReadableDataset(serializers.PrimaryKeyRelatedField):
    """A data set named by id, among those the requesting user may read (registry.selectors.datasets_readable):
    another team's data set is "does not exist", as it is to that user everywhere else."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Dataset.objects.all(), **kwargs)  # the type the schema shows; narrowed below

    def get_queryset(self):
        request = self.context.get("request")
        return datasets_readable(request.user) if request else Dataset.objects.none()


class VersionMetadataSerializer(StrictSerializer):
    version = serializers.CharField(max_length=50)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.DictField(child=serializers.CharField(max_length=500), required=False, default=dict)
    metrics = serializers.DictField(child=serializers.FloatField(), required=False, default=dict)
    lineage = LineageSerializer(required=False, default=dict)
    known_limitations = serializers.CharField(required=False, allow_blank=True, default="")
    sample_dataset = ReadableDataset(required=False, allow_null=True, default=None)

    def validate_metrics(self, value):
        bad = [name for name, number in value.items() if not math.isfinite(number)]
        if bad:
            raise serializers.ValidationError(f"{bad[0]}: must be a finite number.")
        return value


# What a serving platform (KServe, Seldon, SageMaker, Flagger, Argo Rollouts) measures on live traffic and
# can roll a deployment back on: the share of failed requests, and latency percentiles in milliseconds.
ROLLBACK_METRICS = ("error_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


class RollbackThresholdSerializer(StrictSerializer):
    """Roll back when `metric` stays above `above` over `window_minutes`, judged only from `min_requests`
    requests on (registry.rollback_rules); `{}` declares no threshold."""

    metric = serializers.ChoiceField(choices=ROLLBACK_METRICS)
    above = serializers.FloatField(help_text="error_rate: a fraction in [0, 1]; latency: milliseconds, above 0")
    window_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    min_requests = serializers.IntegerField(
        min_value=1,
        max_value=10**9,
        default=DEFAULT_MIN_REQUESTS,
        help_text="fewer requests than this are never a breach (chance is not a reason to roll back)",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict) and not data:
            return {}
        return super().to_internal_value(data)

    def validate(self, attrs):
        if not attrs:
            return attrs
        metric, above = attrs["metric"], attrs["above"]  # a FloatField refuses NaN and infinities
        if metric == "error_rate" and not 0 <= above <= 1:
            raise serializers.ValidationError({"above": ["error_rate is a fraction of requests: between 0 and 1."]})
        if metric != "error_rate" and above <= 0:
            raise serializers.ValidationError({"above": [f"{metric} is in milliseconds: above 0."]})
        return attrs


class DeploymentOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True)
    violation_reasons = serializers.ListField(child=serializers.CharField())
    rollback_response = serializers.SerializerMethodField(
        help_text="what the first breach of the rollback threshold led to: its report, the response and when"
    )

    class Meta:
        model = Deployment
        fields = [
            "id",
            "model",
            "version",
            "environment",
            "strategy",
            "traffic_percent",
            "rollback_threshold",
            "serving_platform",
            "approval_stage",
            "violation",
            "violation_reasons",
            "rollback_response",
            "created_at",
        ]

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_rollback_response(self, obj) -> dict | None:
        acted = obj.health_reports.exclude(response="").first()
        if acted is None:
            return None
        return {"report": acted.pk, "response": acted.response, "at": acted.created_at.isoformat()}


class DeploymentHealthReportOutput(serializers.ModelSerializer):
    error_rate = serializers.SerializerMethodField()

    class Meta:
        model = DeploymentHealthReport
        fields = [
            "id",
            "deployment",
            "window_start",
            "window_end",
            "requests",
            "errors",
            "error_rate",
            "latency_p50_ms",
            "latency_p95_ms",
            "latency_p99_ms",
            "verdict",
            "breached",
            "response",
            "created_at",
        ]

    def get_error_rate(self, obj) -> float | None:
        return obj.errors / obj.requests if obj.requests else None


class DeploymentViolationOutput(serializers.ModelSerializer):
    """A deployment reported without an approval in force for its environment's stage, and why."""

    strategy = serializers.CharField()
    violation_reasons = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Deployment
        fields = [
            "id",
            "environment",
            "serving_platform",
            "strategy",
            "traffic_percent",
            "approval_stage",
            "violation_reasons",
            "created_at",
        ]


class ModelOutput(serializers.ModelSerializer):
    owner = serializers.SerializerMethodField()
    team = serializers.SlugRelatedField(slug_field="name", read_only=True, help_text="the owning team")
    production_version = serializers.SerializerMethodField()
    rollback_target = serializers.SlugRelatedField(slug_field="version", read_only=True, allow_null=True)

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "description",
            "owner",
            "team",
            "business_owner",
            "risk_tier",
            "intended_use",
            "out_of_scope_uses",
            "frameworks",
            "data_classification",
            "tags",
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
    deployment_violations = serializers.SerializerMethodField(
        help_text="deployments reported without an approval in force for their environment's stage"
    )

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
            "evaluation_dataset",
            "submitted_by",
            "created_at",
            "deployment_violations",
        ]
        extra_kwargs = {"evaluation_dataset": {"help_text": "the id of the data set its evidence is computed on"}}

    def get_submitted_by(self, obj) -> str:
        return f"user:{obj.submitted_by_id}"

    @extend_schema_field(DeploymentViolationOutput(many=True))
    def get_deployment_violations(self, obj) -> list[dict]:
        # A listing prefetches them (VIOLATIONS_PREFETCH); a single version reads them here.
        rows = getattr(obj, "violating_deployments", None)
        if rows is None:
            rows = obj.deployments.filter(violation=True)
        return DeploymentViolationOutput(rows, many=True).data


VIOLATIONS_PREFETCH = Prefetch(
    "deployments", queryset=Deployment.objects.filter(violation=True), to_attr="violating_deployments"
)


class DatasetOutput(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Dataset
        fields = ["id", "name", "kind", "model", "sha256", "size", "format", "schema", "profile", "created_at"]


class PolicyOutput(serializers.ModelSerializer):
    class Meta:
        model = ApprovalPolicy
        fields = ["risk_tier", *POLICY_FIELDS, "updated_at"]


MODEL_CHOICES = {"frameworks": FRAMEWORKS, "data_classification": DATA_CLASSES}

"""The CI REST API of the registry: models, versions, data sets, stages, deployments and the gate."""

import dataclasses
import re

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.parsers import FormParser, JSONParser, MultiPartParser
from core.permissions import CanPromote, CanRegister, HasAnyRole
from core.serializers import StrictSerializer
from registry import evaluation_data, metadata, services, stages
from registry.filters import ModelFilter, ModelVersionFilter
from registry.models import (
    DATA_CLASSES,
    FRAMEWORKS,
    Dataset,
    Deployment,
    ModelVersion,
    RegisteredModel,
    RiskTier,
)
from registry.selectors import GATED_STAGES, datasets_readable, gate_check, version_get
from registry.serializers import (
    VIOLATIONS_PREFETCH,
    DatasetOutput,
    DeploymentOutput,
    JsonField,
    ModelOutput,
    ModelVersionOutput,
    ReadableDataset,
    RollbackThresholdSerializer,
    VersionMetadataSerializer,
)


class MetadataInput(StrictSerializer):
    """Editable metadata: the description replaces the old one; each tag named is set, or removed with null;
    tags not named stay as they are."""

    description = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.DictField(
        child=serializers.CharField(max_length=metadata.TAG_VALUE_MAX, allow_null=True, allow_blank=True),
        required=False,
    )


class VersionMetadataInput(MetadataInput):
    """A version's editable metadata, and the data set its evidence is computed on (while no approval of it is in
    force: see registry.evaluation_data)."""

    evaluation_dataset = serializers.JSONField(
        required=False, help_text="the id of a data set you may read (POST /api/v1/datasets/)"
    )


class ModelListRegisterApi(IdempotentPostMixin, generics.ListAPIView):
    queryset = RegisteredModel.objects.select_related("team")
    serializer_class = ModelOutput
    filterset_class = ModelFilter

    class InputSerializer(StrictSerializer):
        name = serializers.SlugField(max_length=100)
        team = serializers.CharField(
            required=False,
            max_length=150,
            default=None,
            help_text="the owning team (team:<name>); required only of an account in several teams",
        )
        description = serializers.CharField(required=False, allow_blank=True, default="")
        business_owner = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
        risk_tier = serializers.ChoiceField(choices=RiskTier.values)
        intended_use = serializers.CharField(required=False, allow_blank=True, default="")
        out_of_scope_uses = serializers.CharField(required=False, allow_blank=True, default="")
        frameworks = serializers.ListField(child=serializers.ChoiceField(choices=FRAMEWORKS), default=list)
        data_classification = serializers.ListField(child=serializers.ChoiceField(choices=DATA_CLASSES), default=list)

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [HasAnyRole()]

    @extend_schema(
        request=InputSerializer,
        responses={201: ModelOutput},
        parameters=[IDEMPOTENCY],
        summary="Register a model",
        examples=[
            OpenApiExample(
                "credit model",
                request_only=True,
                value={
                    "name": "credit-scoring",
                    "risk_tier": "high",
                    "frameworks": ["GDPR"],
                    "data_classification": ["personal_data"],
                    "intended_use": "Consumer credit pre-screening",
                },
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        model = services.model_register(
            user=request.user, name=data.pop("name"), risk_tier=data.pop("risk_tier"), **data
        )
        return Response(ModelOutput(model).data, status=status.HTTP_201_CREATED)


class ModelDetailApi(generics.RetrieveAPIView):
    queryset = RegisteredModel.objects.select_related("team")
    serializer_class = ModelOutput
    lookup_field = "name"
    parser_classes = [JSONParser]

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "PATCH" else [HasAnyRole()]

    @extend_schema(request=MetadataInput, responses=ModelOutput, summary="Edit a model's description and tags")
    def patch(self, request, name):
        payload = MetadataInput(data=request.data)
        payload.is_valid(raise_exception=True)
        model = metadata.model_metadata_update(model=self.get_object(), user=request.user, **payload.validated_data)
        return Response(ModelOutput(model).data)


class ModelVersionListRegisterApi(IdempotentPostMixin, generics.ListAPIView):
    upload_limit_setting = "MAX_ARTIFACT_BYTES"
    serializer_class = ModelVersionOutput
    filterset_class = ModelVersionFilter
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(StrictSerializer):
        artifact = serializers.FileField(
            required=False,
            help_text="skops, XGBoost/LightGBM native, ONNX, or a zipped MLflow model; leave out "
            "for a vendor model audited from the predictions recorded in sample_dataset",
        )
        metadata = JsonField(
            help_text="JSON: version, description, tags, metrics, lineage, known_limitations, "
            "sample_dataset (a dataset id whose rows the artifact must predict)"
        )
        signature = serializers.FileField(
            required=False,
            help_text="An OpenSSF model-signing signature (the Sigstore bundle model_signing writes), signed with a "
            "key or a certificate the model's team trusts; verified over the artifact's files",
        )

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [HasAnyRole()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ModelVersion.objects.none()
        model = get_object_or_404(RegisteredModel, name=self.kwargs["name"])
        return model.versions.select_related("model", "artifact").prefetch_related(VIOLATIONS_PREFETCH)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: ModelVersionOutput},
        parameters=[IDEMPOTENCY],
        summary="Register a model version with its artifact",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name):
        model = get_object_or_404(RegisteredModel, name=name)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        metadata = VersionMetadataSerializer(data=payload.validated_data["metadata"], context={"request": request})
        if not metadata.is_valid():
            raise serializers.ValidationError({"metadata": metadata.errors})
        fields = dict(metadata.validated_data)
        version, sample = fields.pop("version"), fields.pop("sample_dataset")
        created, is_new = services.model_version_register(
            user=request.user,
            model=model,
            version=version,
            upload=payload.validated_data.get("artifact"),
            metadata=fields,
            sample_dataset=sample,
            signature=payload.validated_data.get("signature"),
        )
        return Response(ModelVersionOutput(created).data, status=201 if is_new else 200)


class ModelVersionImportApi(IdempotentPostMixin, APIView):
    permission_classes = [CanRegister]
    parser_classes = [JSONParser]

    class InputSerializer(StrictSerializer):
        version = serializers.CharField(max_length=50)
        tracking_uri = serializers.CharField(max_length=500)
        source = serializers.CharField(
            max_length=500, help_text="models:/<name>/<version>, models:/<name>@<alias> or runs:/<run_id>/<path>"
        )
        sample_dataset = ReadableDataset(required=False, allow_null=True, default=None)
        signature = serializers.DictField(
            required=False,
            allow_null=True,
            default=None,
            help_text="An OpenSSF model-signing signature (the bundle's JSON) over the MLflow model folder's files",
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: ModelVersionOutput},
        parameters=[IDEMPOTENCY],
        summary="Register a version from an MLflow model, with its run's params, metrics and lineage",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name):
        model = get_object_or_404(RegisteredModel, name=name)
        payload = self.InputSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        created, is_new = services.model_version_import(user=request.user, model=model, **payload.validated_data)
        return Response(ModelVersionOutput(created).data, status=201 if is_new else 200)


class ModelVersionDetailApi(APIView):
    parser_classes = [JSONParser]

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "PATCH" else [HasAnyRole()]

    @extend_schema(responses=ModelVersionOutput, summary="A model version")
    def get(self, request, name, version):
        return Response(ModelVersionOutput(version_get(name, version)).data)

    @extend_schema(
        request=VersionMetadataInput,
        responses=ModelVersionOutput,
        summary="Edit a version's description and tags, or name its evaluation data set (never its artifact)",
    )
    @transaction.atomic
    def patch(self, request, name, version):
        payload = VersionMetadataInput(data=request.data)
        payload.is_valid(raise_exception=True)
        fields, edited = dict(payload.validated_data), version_get(name, version)
        if "evaluation_dataset" in fields:
            named = fields.pop("evaluation_dataset")
            edited = evaluation_data.model_version_evaluation_dataset_set(
                version=edited, dataset=named, user=request.user
            )
        edited = metadata.model_version_metadata_update(version=edited, user=request.user, **fields)
        return Response(ModelVersionOutput(edited).data)


class DatasetListRegisterApi(IdempotentPostMixin, generics.ListAPIView):
    upload_limit_setting = "MAX_DATASET_BYTES"
    serializer_class = DatasetOutput
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(StrictSerializer):
        file = serializers.FileField(help_text="CSV or Parquet")
        name = serializers.CharField(max_length=200)
        kind = serializers.ChoiceField(choices=Dataset.Kind.values)
        model = serializers.SlugRelatedField(
            slug_field="name", queryset=RegisteredModel.objects.all(), required=False, allow_null=True, default=None
        )
        schema = JsonField(help_text="features, target, positive_label, task, sensitive_features, prediction, score")

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [HasAnyRole()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dataset.objects.none()
        return datasets_readable(self.request.user)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={201: DatasetOutput},
        parameters=[IDEMPOTENCY],
        summary="Register a dataset with its declared schema",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        dataset = services.dataset_register(
            user=request.user,
            name=data["name"],
            kind=data["kind"],
            upload=data["file"],
            schema=data["schema"],
            model=data["model"],
        )
        return Response(DatasetOutput(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = DatasetOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dataset.objects.none()
        return datasets_readable(self.request.user)


class StageChangeApi(IdempotentPostMixin, APIView):
    permission_classes = [CanPromote]

    class InputSerializer(StrictSerializer):
        stage = serializers.ChoiceField(choices=["none", "staging", "production", "archived"])

    @extend_schema(
        request=InputSerializer,
        responses=ModelVersionOutput,
        parameters=[IDEMPOTENCY],
        summary="Move a version to a stage (production needs an approved, unexpired request)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        moved = stages.model_version_stage_change(
            version=version_get(name, version), user=request.user, stage=payload.validated_data["stage"]
        )
        return Response(ModelVersionOutput(moved).data)


class RollbackApi(IdempotentPostMixin, APIView):
    permission_classes = [CanPromote]

    class InputSerializer(StrictSerializer):
        reason = serializers.CharField(max_length=5000)

    @extend_schema(
        request=InputSerializer,
        responses=ModelVersionOutput,
        parameters=[IDEMPOTENCY],
        summary="Put the previous production version back",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        restored = stages.model_rollback(
            model=get_object_or_404(RegisteredModel, name=name),
            user=request.user,
            reason=payload.validated_data["reason"],
        )
        return Response(ModelVersionOutput(restored).data)


class DeploymentReportApi(IdempotentPostMixin, generics.ListAPIView):
    serializer_class = DeploymentOutput

    class InputSerializer(StrictSerializer):
        environment = serializers.CharField(
            max_length=100,
            help_text="its words decide the approval it needs: prod/production/prd/live a production one, "
            "staging/stage/stg/preprod/uat a staging one, dev/development/test/testing/qa/ci/local/sandbox none; "
            "any other name a production one",
        )
        strategy = serializers.ChoiceField(choices=Deployment.Strategy.values)
        traffic_percent = serializers.DecimalField(
            max_digits=5,
            decimal_places=2,
            min_value=0,
            max_value=100,
            help_text="canary: above 0 and below 100; blue_green: 0 or 100; shadow (mirrored): above 0; "
            "all_at_once: 100",
        )
        rollback_threshold = RollbackThresholdSerializer(required=False, default=dict)
        serving_platform = serializers.CharField(
            max_length=100, required=False, allow_blank=True, default="", help_text="e.g. kserve, seldon, sagemaker"
        )

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [HasAnyRole()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Deployment.objects.none()
        version = version_get(self.kwargs["name"], self.kwargs["version"])
        return version.deployments.select_related("version__model")

    @extend_schema(
        request=InputSerializer,
        responses={201: DeploymentOutput},
        parameters=[IDEMPOTENCY],
        summary="Report a deployment of this version (without an approval in force, it is recorded as a violation)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        deployment = stages.deployment_report(
            version=version_get(name, version), user=request.user, **payload.validated_data
        )
        return Response(DeploymentOutput(deployment).data, status=status.HTTP_201_CREATED)


class GateApi(APIView):
    permission_classes = [HasAnyRole]

    class QuerySerializer(serializers.Serializer):
        stage = serializers.ChoiceField(choices=GATED_STAGES)
        sha256 = serializers.RegexField(r"^[0-9a-f]{64}$", error_messages={"invalid": "64 lowercase hex characters."})

    class OutputSerializer(serializers.Serializer):
        allowed = serializers.BooleanField()
        reasons = serializers.ListField(child=serializers.CharField())
        approval_request = serializers.IntegerField(allow_null=True)
        expires_at = serializers.CharField(allow_null=True)
        artifact_sha256 = serializers.CharField(allow_null=True)
        attestation = serializers.CharField(allow_null=True, help_text="the approval's signed attestation (DSSE)")
        attestation_sha256 = serializers.CharField(allow_null=True)

    @extend_schema(
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, 409: OutputSerializer},
        summary="May this exact artifact go to this stage? Fails closed.",
    )
    def get(self, request, name, version):
        stage, sha256 = _gate_question(request.query_params)
        answer = gate_check(model_name=name, version=version, stage=stage, sha256=sha256)
        # The serializers above describe the schema; the hottest endpoint builds its small body directly.
        return Response(dataclasses.asdict(answer), status=200 if answer.allowed else 409)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _gate_question(params) -> tuple[str, str]:
    """The gate's two query parameters, checked as its QuerySerializer declares them (without building one
    per request: field copies were a fifth of the gate's time)."""
    stage, sha256, problems = params.get("stage"), params.get("sha256"), {}
    if stage not in GATED_STAGES:
        problems["stage"] = [f"One of: {', '.join(GATED_STAGES)}."]
    if not isinstance(sha256, str) or not _HEX64.fullmatch(sha256):
        problems["sha256"] = ["64 lowercase hex characters."]
    if problems:
        raise serializers.ValidationError(problems)
    return stage, sha256


JSON_ONLY = [JSONParser]
for _api in (StageChangeApi, RollbackApi, DeploymentReportApi):
    _api.parser_classes = JSON_ONLY

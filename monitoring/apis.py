"""Production monitoring over the API: post a window of production rows, read the windows and the policies."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from core import datetimes
from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.parsers import FormParser, MultiPartParser
from core.permissions import CanRegister, HasAnyRole
from core.serializers import StrictSerializer
from monitoring.models import MonitoringPolicy, ProductionWindow
from monitoring.selectors import visible_windows
from monitoring.services import production_window_upload
from registry.models import ModelVersion


class ProductionWindowOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.CharField(source="version.version")

    class Meta:
        model = ProductionWindow
        fields = [
            "id",
            "model",
            "version",
            "window_start",
            "window_end",
            "sha256",
            "size",
            "format",
            "rows",
            "labelled",
            "status",
            "verdict",
            "attempts",
            "error",
            "result_sha256",
            "policy",
            "created_at",
            "finished_at",
            "result",
        ]


class WindowListUploadApi(IdempotentPostMixin, generics.ListAPIView):
    upload_limit_setting = "MAX_DATASET_BYTES"
    serializer_class = ProductionWindowOutput
    parser_classes = [MultiPartParser, FormParser]
    filterset_fields = ["status", "verdict", "labelled"]

    class InputSerializer(StrictSerializer):
        file = serializers.FileField(
            help_text="CSV or Parquet: the version's features, the prediction, "
            "the score where there is one, and the target once labels are known"
        )
        window_start = datetimes.DateTimeField()
        window_end = datetimes.DateTimeField()
        prediction = serializers.CharField(max_length=200, default="prediction", help_text="the prediction column")
        score = serializers.CharField(
            max_length=200,
            required=False,
            default=None,
            help_text='the positive class\'s probability; "score" when the file has a column so named',
        )

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [HasAnyRole()]

    def _version(self) -> ModelVersion:
        return get_object_or_404(
            ModelVersion.objects.select_related("model", "evaluation_dataset"),
            model__name=self.kwargs["name"],
            version=self.kwargs["version"],
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProductionWindow.objects.none()
        return visible_windows(self.request.user).filter(version=self._version())

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: ProductionWindowOutput, 200: ProductionWindowOutput},
        parameters=[IDEMPOTENCY],
        summary="Post a window of production rows; the monitors run on it",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        target = self._version()
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        window, created = production_window_upload(
            user=request.user,
            version=target,
            upload=data["file"],
            window_start=data["window_start"],
            window_end=data["window_end"],
            prediction=data["prediction"],
            score=data["score"],
        )
        return Response(ProductionWindowOutput(window).data, status=202 if created else 200)


class WindowDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = ProductionWindowOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProductionWindow.objects.none()
        return visible_windows(self.request.user)


class MonitoringPolicyOutput(serializers.ModelSerializer):
    class Meta:
        model = MonitoringPolicy
        exclude = ["id"]


class PolicyListApi(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = MonitoringPolicyOutput
    queryset = MonitoringPolicy.objects.all()

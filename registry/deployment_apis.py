"""A deployment and its health: what the serving side measured on live traffic, window by window."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import datetimes
from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.parsers import JSONParser
from core.permissions import CanRegister, HasAnyRole
from core.serializers import StrictSerializer
from registry.deployment_health import deployment_health_report
from registry.models import Deployment
from registry.serializers import DeploymentHealthReportOutput, DeploymentOutput

DEPLOYMENTS = Deployment.objects.select_related("version__model", "version__artifact")


class DeploymentDetailApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(responses=DeploymentOutput, summary="A deployment, with what its rollback threshold led to")
    def get(self, request, pk):
        return Response(DeploymentOutput(get_object_or_404(DEPLOYMENTS, pk=pk)).data)


class DeploymentHealthApi(IdempotentPostMixin, generics.ListAPIView):
    serializer_class = DeploymentHealthReportOutput
    parser_classes = [JSONParser]

    class InputSerializer(StrictSerializer):
        window_start = datetimes.DateTimeField()
        window_end = datetimes.DateTimeField(help_text="after window_start; windows of one deployment never overlap")
        requests = serializers.IntegerField(min_value=0, max_value=10**15, help_text="requests served in the window")
        errors = serializers.IntegerField(min_value=0, max_value=10**15, help_text="failed requests, at most requests")
        latency_p50_ms = serializers.FloatField(min_value=0, required=False, allow_null=True, default=None)
        latency_p95_ms = serializers.FloatField(min_value=0, required=False, allow_null=True, default=None)
        latency_p99_ms = serializers.FloatField(
            min_value=0,
            required=False,
            allow_null=True,
            default=None,
            help_text="required when the deployment's rollback threshold is on this percentile",
        )

    def get_permissions(self):
        return [CanRegister()] if self.request.method == "POST" else [HasAnyRole()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Deployment.objects.none()
        return get_object_or_404(Deployment, pk=self.kwargs["pk"]).health_reports.all()

    @extend_schema(
        request=InputSerializer,
        responses={201: DeploymentHealthReportOutput},
        parameters=[IDEMPOTENCY],
        summary="Report a window of live traffic; a breach of the rollback threshold is answered as the policy says",
        examples=[
            OpenApiExample(
                "five minutes of a canary",
                request_only=True,
                value={
                    "window_start": "2026-12-03T10:00:00Z",
                    "window_end": "2026-12-03T10:05:00Z",
                    "requests": 2400,
                    "errors": 31,
                    "latency_p99_ms": 182.5,
                },
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, pk):
        deployment = get_object_or_404(DEPLOYMENTS, pk=pk)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = deployment_health_report(deployment=deployment, user=request.user, **payload.validated_data)
        return Response(DeploymentHealthReportOutput(report).data, status=status.HTTP_201_CREATED)

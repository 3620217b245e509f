"""Evidence jobs over the API: request one, poll its progress, read its result and charts."""

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.services import actor_for
from core.blobs import blob_path
from core.permissions import CanPromote, HasAnyRole, model_write_check, readable_rows
from core.serializers import StrictSerializer
from evidence.models import EvidenceJob
from evidence.services import evidence_job_request
from registry.models import ModelVersion
from registry.serializers import ReadableDataset


def visible_jobs(user):
    """Officers, auditors and administrators see all evidence; others the evidence of their teams' models."""
    jobs = EvidenceJob.objects.select_related("version__model", "dataset", "reference")
    return readable_rows(user, jobs, "version__model")


class EvidenceJobOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.CharField(source="version.version")
    dataset = serializers.IntegerField(source="dataset_id")
    reference = serializers.IntegerField(source="reference_id", allow_null=True)
    progress = serializers.SerializerMethodField(
        help_text=(
            "Rows, as {done, total}. total is 0 while the job is queued or loading its rows, then the number of "
            "rows it computes over; done counts rows computed and equals total only once the result is recorded "
            "(status succeeded). A bias audit, drift check or small explanation computes in one pass and reads "
            "0 of total until then; a chunked explanation counts each chunk's rows, then merges. A queued job "
            "reads 0 of 0, whatever an earlier attempt had counted."
        )
    )

    class Meta:
        model = EvidenceJob
        fields = [
            "id",
            "kind",
            "model",
            "version",
            "dataset",
            "reference",
            "params",
            "status",
            "verdict",
            "progress",
            "attempts",
            "artifact_sha256",
            "dataset_sha256",
            "result_sha256",
            "error",
            "created_at",
            "finished_at",
            "result",
        ]

    def get_progress(self, obj) -> dict:
        if obj.status == EvidenceJob.Status.QUEUED:  # requeued after a dead worker or a lost connection
            return {"done": 0, "total": 0}
        return {"done": obj.progress_done, "total": obj.progress_total}


class EvidenceJobRequestApi(APIView):
    permission_classes = [CanPromote]

    class InputSerializer(StrictSerializer):
        kind = serializers.ChoiceField(choices=EvidenceJob.Kind.values)
        dataset = ReadableDataset()
        reference = ReadableDataset(required=False, allow_null=True, default=None)

    @extend_schema(
        request=InputSerializer,
        responses={202: EvidenceJobOutput},
        summary="Queue an explanation, bias audit or drift check of this version",
    )
    def post(self, request, name, version):
        target = get_object_or_404(
            ModelVersion.objects.select_related("model", "artifact"), model__name=name, version=version
        )
        model_write_check(request.user, target.model)
        payload = self.InputSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        job = evidence_job_request(version=target, actor=actor_for(request.user), **payload.validated_data)
        return Response(EvidenceJobOutput(job).data, status=status.HTTP_202_ACCEPTED)


class EvidenceJobListApi(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = EvidenceJobOutput
    filterset_fields = ["kind", "status", "verdict"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EvidenceJob.objects.none()
        return visible_jobs(self.request.user)


class EvidenceJobDetailApi(generics.RetrieveAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = EvidenceJobOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EvidenceJob.objects.none()
        return visible_jobs(self.request.user)


class EvidenceChartApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(responses={(200, "image/png"): OpenApiTypes.BINARY}, summary="A chart of a finished job (PNG)")
    def get(self, request, pk, chart):
        job = get_object_or_404(visible_jobs(request.user), pk=pk)
        digest = ((job.result or {}).get("charts") or {}).get(chart)
        if not digest:
            raise Http404
        return FileResponse(open(blob_path(settings.EVIDENCE_ROOT, digest), "rb"), content_type="image/png")  # noqa: SIM115

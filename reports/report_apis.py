"""Model-card reports over the API: request one, read its state, download it (audited), re-derive it."""

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import roles
from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.permissions import CanReadEverything, CanVerifyTrail, readable_rows, require_roles
from core.serializers import StrictSerializer, refuse_input
from registry.selectors import version_get
from reports import jobs
from reports.models import Report

CanRequestReport = require_roles(roles.COMPLIANCE_OFFICER, roles.CI)
# CI pipelines poll the state of the reports they request; the contents are for officers and auditors.
CanReadReportState = require_roles(roles.COMPLIANCE_OFFICER, roles.AUDITOR, roles.CI)


def _report(pk: int) -> Report:
    return get_object_or_404(Report.objects.select_related("version__model", "version__artifact"), pk=pk)


class ReportOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.CharField(source="version.version")

    class Meta:
        model = Report
        fields = [
            "id",
            "model",
            "version",
            "scope",
            "status",
            "step",
            "requested_by",
            "inputs_sha256",
            "pdf_sha256",
            "pdf_size",
            "pages",
            "error",
            "attempts",
            "created_at",
            "finished_at",
            "rederived_at",
            "rederived_sha256",
            "rederive_matches",
        ]


class ReportRequestApi(IdempotentPostMixin, APIView):
    permission_classes = [CanRequestReport]

    class InputSerializer(StrictSerializer):
        scope = serializers.CharField(
            help_text='A framework that applies to the model ("gdpr", ...), "combined", or "annex_iv" (EU AI Act '
            "technical documentation, where the EU AI Act applies)"
        )

    @extend_schema(
        request=InputSerializer,
        responses={202: ReportOutput},
        parameters=[IDEMPOTENCY],
        summary="Render this version's model card to tagged PDF/A-3a, for one framework or combined",
        examples=[OpenApiExample("GDPR report", request_only=True, value={"scope": "gdpr"})],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        target = version_get(name, version)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        report = jobs.report_request(version=target, scope=payload.validated_data["scope"], user=request.user)
        return Response(ReportOutput(_report(report.pk)).data, status=status.HTTP_202_ACCEPTED)


class ReportDetailApi(APIView):
    permission_classes = [CanReadReportState]

    @extend_schema(responses=ReportOutput, summary="A report's state and digests")
    def get(self, request, pk):
        rows = readable_rows(request.user, Report.objects.select_related("version__model"), "version__model")
        return Response(ReportOutput(get_object_or_404(rows, pk=pk)).data)


class ReportPdfApi(APIView):
    permission_classes = [CanReadEverything]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="Download the PDF (audited)")
    def get(self, request, pk):
        report = jobs.report_download(report=_report(pk), user=request.user, via="api")
        name = jobs.report_filename(report)
        stream = open(jobs.report_pdf_path(report), "rb")  # noqa: SIM115 (FileResponse closes it)
        return FileResponse(stream, content_type="application/pdf", as_attachment=True, filename=name)


class ReportEvidenceApi(APIView):
    permission_classes = [CanReadEverything]

    @extend_schema(
        responses={(200, "application/json"): OpenApiTypes.OBJECT},
        summary="The card document embedded in the PDF: RFC 8785 JSON whose SHA-256 is inputs_sha256 (audited)",
    )
    def get(self, request, pk):
        report = jobs.report_download(report=_report(pk), user=request.user, via="api", what="card")
        return HttpResponse(_card_bytes(report.inputs), content_type="application/json")


class ReportRederiveApi(APIView):
    permission_classes = [CanVerifyTrail]

    @extend_schema(
        request=None,
        responses={202: ReportOutput},
        summary="Render the report again from its recorded inputs and compare the SHA-256",
    )
    def post(self, request, pk):
        refuse_input(request.data)
        jobs.report_rederive_request(report=_report(pk), user=request.user)
        return Response(ReportOutput(_report(pk)).data, status=status.HTTP_202_ACCEPTED)


report_urlpatterns = [
    path("models/<slug:name>/versions/<str:version>/reports/", ReportRequestApi.as_view(), name="report-request"),
    path("reports/<int:pk>/", ReportDetailApi.as_view(), name="report"),
    path("reports/<int:pk>/pdf/", ReportPdfApi.as_view(), name="report-pdf"),
    path("reports/<int:pk>/evidence/", ReportEvidenceApi.as_view(), name="report-evidence"),
    path("reports/<int:pk>/rederive/", ReportRederiveApi.as_view(), name="report-rederive"),
]


def _card_bytes(card: dict) -> bytes:
    from reports.render import card_bytes  # WeasyPrint is loaded only where a card is rendered or read

    return card_bytes(card)

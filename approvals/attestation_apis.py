"""Approval attestations over the REST API: the signed envelope of one approval, and the revocation list."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals.attestations import attestations_revoked
from core.permissions import HasAnyRole, readable_rows
from registry.models import ApprovalAttestation, ApprovalRequest

DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"


def attestation_response(attestation: ApprovalAttestation) -> HttpResponse:
    """The envelope's exact bytes (its SHA-256 is the one in the trail), as a download."""
    name = f"approval-{attestation.request_id}.intoto.json"
    disposition = content_disposition_header(as_attachment=True, filename=name)
    return HttpResponse(
        bytes(attestation.envelope), content_type=DSSE_MEDIA_TYPE, headers={"Content-Disposition": disposition}
    )


class ApprovalAttestationApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        responses={(200, DSSE_MEDIA_TYPE): OpenApiTypes.BINARY},
        summary="The approval's signed in-toto attestation (a DSSE envelope); verify it offline",
    )
    def get(self, request, pk):
        requests = readable_rows(request.user, ApprovalRequest.objects.all(), "version__model")
        target = get_object_or_404(requests, pk=pk)
        attestation = ApprovalAttestation.objects.filter(request=target).first()
        if attestation is None:
            raise Http404(f"Approval request {pk} has no attestation: only approvals of an artifact get one.")
        return attestation_response(attestation)


class RevokedOutput(serializers.Serializer):
    approval_request = serializers.IntegerField()
    attestation_sha256 = serializers.CharField()
    artifact_sha256 = serializers.CharField()
    reason = serializers.ChoiceField(choices=["withdrawn", "expired", "superseded"])
    since = serializers.CharField(allow_null=True)


class RevocationListOutput(serializers.Serializer):
    generated_at = serializers.CharField()
    revoked = RevokedOutput(many=True)


class AttestationRevocationsApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        responses=RevocationListOutput,
        summary="Attestations that no longer hold: withdrawn, expired or superseded by a later decision",
    )
    def get(self, request):
        rows = readable_rows(request.user, ApprovalAttestation.objects.all(), "request__version__model")
        return Response(attestations_revoked(rows=rows))

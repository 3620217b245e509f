"""Evidence waivers over the API: officers grant and revoke; every role with access reads."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import waivers
from core import datetimes
from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.parsers import JSONParser
from core.permissions import HasAnyRole, IsComplianceOfficer, model_read_check
from core.serializers import StrictSerializer, refuse_input
from registry.models import EvidenceWaiver
from registry.selectors import version_get, waiver_discounted


class WaiverOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.CharField(source="version.version")
    granted_by = serializers.SerializerMethodField()
    revoked_by = serializers.SerializerMethodField()
    active = serializers.SerializerMethodField()
    not_counted = serializers.SerializerMethodField(
        help_text="why this waiver never counts (its grantor submitted the version or requested its approval), or null"
    )

    class Meta:
        model = EvidenceWaiver
        fields = [
            "id",
            "model",
            "version",
            "requirement",
            "artifact_sha256",
            "justification_digest",
            "granted_by",
            "created_at",
            "expires_at",
            "revoked_by",
            "revoked_at",
            "active",
            "not_counted",
        ]

    def get_granted_by(self, obj) -> str:
        return f"user:{obj.granted_by_id}"

    def get_revoked_by(self, obj) -> str | None:
        return f"user:{obj.revoked_by_id}" if obj.revoked_by_id else None

    def get_active(self, obj) -> bool:
        from django.utils import timezone

        return obj.revoked_at is None and obj.expires_at > timezone.now()

    def get_not_counted(self, obj) -> str | None:
        return waiver_discounted(obj) or None


class WaiverListGrantApi(IdempotentPostMixin, generics.ListAPIView):
    serializer_class = WaiverOutput
    parser_classes = [JSONParser]
    pagination_class = None

    class InputSerializer(StrictSerializer):
        requirement = serializers.ChoiceField(choices=EvidenceWaiver.Requirement.values)
        justification = serializers.CharField(max_length=10000)
        expires_at = datetimes.DateTimeField(required=False, allow_null=True, default=None)

    def get_permissions(self):
        return [IsComplianceOfficer()] if self.request.method == "POST" else [HasAnyRole()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EvidenceWaiver.objects.none()
        version = version_get(self.kwargs["name"], self.kwargs["version"])
        model_read_check(self.request.user, version.model)
        return EvidenceWaiver.objects.filter(version=version).select_related("version")

    @extend_schema(summary="Waivers of a version's evidence requirements, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer,
        responses={201: WaiverOutput},
        parameters=[IDEMPOTENCY],
        summary="Waive an unmet evidence requirement with a written justification (officers; audited)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        waiver = waivers.evidence_waiver_grant(
            version=version_get(name, version), user=request.user, **payload.validated_data
        )
        return Response(WaiverOutput(waiver).data, status=status.HTTP_201_CREATED)


class WaiverRevokeApi(IdempotentPostMixin, APIView):
    permission_classes = [IsComplianceOfficer]
    parser_classes = [JSONParser]

    @extend_schema(request=None, responses=WaiverOutput, parameters=[IDEMPOTENCY], summary="Revoke a waiver (audited)")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, pk):
        refuse_input(request.data)
        waiver = waivers.evidence_waiver_revoke(waiver=get_object_or_404(EvidenceWaiver, pk=pk), user=request.user)
        return Response(WaiverOutput(waiver).data)

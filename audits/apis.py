import django_filters
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from audits import keys
from audits.models import AuditEvent, Checkpoint
from audits.selectors import audit_trail_verify, checkpoint_record, event_record, export_lines
from audits.services import actor_for, person_erase
from core import datetimes
from core.permissions import CanReadEverything, CanVerifyTrail, IsSuperuser
from core.serializers import StrictSerializer, refuse_input


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(help_text="exact action, e.g. approval.decided")
    action_prefix = django_filters.CharFilter(field_name="action", lookup_expr="startswith")
    actor = django_filters.CharFilter()
    object = django_filters.CharFilter(field_name="object_ref", help_text="app.model:pk")
    since = datetimes.IsoDateTimeFilter(field_name="ts", lookup_expr="gte")
    until = datetimes.IsoDateTimeFilter(field_name="ts", lookup_expr="lt")
    seq_from = django_filters.NumberFilter(field_name="seq", lookup_expr="gte")
    seq_to = django_filters.NumberFilter(field_name="seq", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = []


class AuditEventOutput(serializers.Serializer):
    v = serializers.IntegerField()
    seq = serializers.IntegerField()
    ts = serializers.CharField()
    actor = serializers.CharField()
    action = serializers.CharField()
    object = serializers.CharField()
    data = serializers.DictField()
    prev = serializers.CharField()
    hash = serializers.CharField()

    def to_representation(self, instance):
        return event_record(instance)


class AuditEventListApi(generics.ListAPIView):
    permission_classes = [CanReadEverything]
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventOutput
    filterset_class = AuditEventFilter


class AuditEventDetailApi(generics.RetrieveAPIView):
    permission_classes = [CanReadEverything]
    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventOutput
    lookup_field = "seq"


class VerifyResultOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    size = serializers.IntegerField()
    head = serializers.CharField()
    bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True)
    checkpoints_checked = serializers.IntegerField()


class AuditVerifyApi(APIView):
    permission_classes = [CanVerifyTrail]

    @extend_schema(request=None, responses=VerifyResultOutput, summary="Verify the whole trail and its checkpoints")
    def post(self, request):
        refuse_input(request.data)
        return Response(VerifyResultOutput(audit_trail_verify().to_json()).data)


class AuditExportApi(APIView):
    permission_classes = [CanReadEverything]

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, description="first seq (default 1)"),
            OpenApiParameter("to", int, description="last seq (default: the head)"),
        ],
        responses={(200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="JSON Lines")},
        summary="Export the trail as JSON Lines, streamed",
    )
    def get(self, request):
        from_seq, to_seq = _seq_range(request.query_params)
        response = StreamingHttpResponse(
            export_lines(from_seq=from_seq, to_seq=to_seq), content_type="application/x-ndjson"
        )
        response["Content-Disposition"] = 'attachment; filename="audit-trail.jsonl"'
        return response


def _seq_range(params) -> tuple[int, int | None]:
    fields = {"from_seq": params.get("from", 1), "to_seq": params.get("to")}
    checked = _RangeInput(data={k: v for k, v in fields.items() if v is not None})
    checked.is_valid(raise_exception=True)
    return checked.validated_data["from_seq"], checked.validated_data.get("to_seq")


class _RangeInput(serializers.Serializer):
    from_seq = serializers.IntegerField(min_value=1)
    to_seq = serializers.IntegerField(min_value=1, required=False)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if values.get("to_seq") is not None and values["to_seq"] < values["from_seq"]:
            raise serializers.ValidationError({"to_seq": ["Must not be below from."]})
        return values


class CheckpointOutput(serializers.Serializer):
    v = serializers.IntegerField()
    size = serializers.IntegerField()
    head = serializers.CharField()
    ts = serializers.CharField()
    signature = serializers.CharField()
    key_fingerprint = serializers.CharField()

    def to_representation(self, instance):
        return checkpoint_record(instance)


class CheckpointListApi(generics.ListAPIView):
    permission_classes = [CanReadEverything]
    queryset = Checkpoint.objects.all()
    serializer_class = CheckpointOutput


class PublicKeyApi(APIView):
    permission_classes = [CanReadEverything]

    @extend_schema(
        responses={(200, "application/x-pem-file"): OpenApiTypes.STR},
        summary="The Ed25519 public key that verifies checkpoints (PEM)",
    )
    def get(self, request):
        return HttpResponse(keys.public_pem(), content_type="application/x-pem-file")


class PersonEraseApi(APIView):
    permission_classes = [IsSuperuser]

    class InputSerializer(StrictSerializer):
        subject = serializers.RegexField(r"^user:[0-9]+$", help_text="e.g. user:17")

    @extend_schema(
        request=InputSerializer,
        responses={201: AuditEventOutput},
        summary="Erase a person's data kept beside the trail (GDPR Art. 17)",
    )
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = person_erase(subject=payload.validated_data["subject"], actor=actor_for(request.user))
        return Response(AuditEventOutput(event).data, status=201)

"""Framework checklists and attestations over the API: one class per operation."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core import datetimes
from core.errors import DomainError
from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.parsers import FormParser, JSONParser, MultiPartParser
from core.permissions import HasAnyRole, IsComplianceOfficer, model_read_check
from core.serializers import StrictSerializer
from registry.models import ModelVersion
from registry.selectors import version_get
from reports import services
from reports.checklists import applicable_frameworks, checklist_evaluate, checklist_summary, checklists_evaluate
from reports.frameworks import FRAMEWORK_IDS, framework_load
from reports.models import Attestation
from reports.selectors import attestation_history, attestation_statement, statement_shown


class ItemResultOutput(serializers.Serializer):
    framework = serializers.CharField()
    item_id = serializers.CharField()
    requirement = serializers.CharField()
    source = serializers.CharField()
    evidence_needed = serializers.CharField()
    decided_by = serializers.ChoiceField(choices=["automatic", "human"])
    status = serializers.ChoiceField(choices=["passed", "failed", "open", "not_applicable"])
    reason = serializers.CharField()
    evidence = serializers.ListField(child=serializers.DictField(), help_text="pointers to what decided the item")


class ChecklistOutput(serializers.Serializer):
    framework = serializers.CharField()
    title = serializers.CharField()
    checklist_version = serializers.CharField()
    summary = serializers.DictField(child=serializers.IntegerField())
    items = ItemResultOutput(many=True)


class VersionChecklistsOutput(serializers.Serializer):
    model = serializers.CharField()
    version = serializers.CharField()
    artifact_sha256 = serializers.CharField(allow_null=True)
    evaluated_at = serializers.DateTimeField()
    checklists = ChecklistOutput(many=True)


def _checklist(framework: str, results) -> dict:
    definition = framework_load(framework)
    return {
        "framework": framework,
        "title": definition["title"],
        "checklist_version": definition["version"],
        "summary": checklist_summary(results),
        "items": [result.to_dict() for result in results],
    }


def _header(version: ModelVersion, now) -> dict:
    return {
        "model": version.model.name,
        "version": version.version,
        "artifact_sha256": version.artifact.sha256 if version.artifact else None,
        "evaluated_at": now,
    }


class ChecklistListApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(responses=VersionChecklistsOutput, summary="Every applicable framework checklist, evaluated now")
    def get(self, request, name, version):
        target, now = version_get(name, version), timezone.now()
        model_read_check(request.user, target.model)
        evaluated = checklists_evaluate(target, now=now)
        body = {**_header(target, now), "checklists": [_checklist(fw, res) for fw, res in evaluated.items()]}
        return Response(VersionChecklistsOutput(body).data)


class ChecklistDetailApi(APIView):
    permission_classes = [HasAnyRole]

    class OutputSerializer(VersionChecklistsOutput):
        checklists = None
        checklist = ChecklistOutput()

    @extend_schema(
        responses=OutputSerializer,
        operation_id="v1_models_versions_checklist_retrieve",
        summary="One framework's checklist for this version, evaluated now",
    )
    def get(self, request, name, version, framework):
        target, now = version_get(name, version), timezone.now()
        model_read_check(request.user, target.model)
        if framework not in FRAMEWORK_IDS:
            raise Http404
        if framework not in applicable_frameworks(target.model):
            raise DomainError("not_applicable", f"{framework} does not apply to {target.model.name}.", status_code=404)
        body = {
            **_header(target, now),
            "checklist": _checklist(framework, checklist_evaluate(target, framework, now=now)),
        }
        return Response(self.OutputSerializer(body).data)


class AttestationOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.CharField(source="version.version")
    statement = serializers.SerializerMethodField(help_text='the text, or "[erased]" once its author was erased')
    statement_erased = serializers.SerializerMethodField()
    statement_sha256 = serializers.CharField(
        source="statement_digest", help_text="SHA-256 over the statement's random salt and text, as events carry it"
    )
    answered_by = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()
    expired = serializers.SerializerMethodField()

    class Meta:
        model = Attestation
        fields = [
            "id",
            "model",
            "version",
            "framework",
            "item_id",
            "checklist_version",
            "answer",
            "statement",
            "statement_erased",
            "statement_sha256",
            "attachments",
            "answered_by",
            "answered_at",
            "expires_at",
            "superseded_at",
            "current",
            "expired",
        ]

    def get_statement(self, obj) -> str:
        return statement_shown(attestation_statement(obj))

    def get_statement_erased(self, obj) -> bool:
        return attestation_statement(obj) is None

    def get_answered_by(self, obj) -> str:
        return f"user:{obj.answered_by_id}"

    def get_current(self, obj) -> bool:
        return obj.superseded_at is None

    def get_expired(self, obj) -> bool:
        return obj.expires_at is not None and obj.expires_at <= timezone.now()


class AttestationListAnswerApi(IdempotentPostMixin, generics.ListAPIView):
    # Each attachment up to its limit, as many as Django lets a request carry.
    upload_limit_bytes = services.ATTACHMENT_MAX_BYTES
    upload_files = None
    serializer_class = AttestationOutput
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(StrictSerializer):
        framework = serializers.ChoiceField(choices=FRAMEWORK_IDS)
        item_id = serializers.CharField(max_length=40)
        answer = serializers.ChoiceField(choices=Attestation.Answer.choices)
        statement = serializers.CharField(max_length=services.STATEMENT_MAX)
        expires_at = datetimes.DateTimeField(required=False, allow_null=True, default=None)

    class MultipartInputSerializer(InputSerializer):
        attachments = serializers.ListField(
            child=serializers.FileField(), required=False, default=list, help_text="files kept with the answer"
        )

    def get_permissions(self):
        return [IsComplianceOfficer()] if self.request.method == "POST" else [HasAnyRole()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Attestation.objects.none()
        target = version_get(self.kwargs["name"], self.kwargs["version"])
        model_read_check(self.request.user, target.model)
        params = self.request.query_params
        return attestation_history(version=target, framework=params.get("framework"), item_id=params.get("item_id"))

    @extend_schema(
        parameters=[
            OpenApiParameter("framework", str, required=False, enum=list(FRAMEWORK_IDS)),
            OpenApiParameter("item_id", str, required=False),
        ],
        summary="Every answer to this version's human checklist items, newest first (superseded ones included)",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request={"application/json": InputSerializer, "multipart/form-data": MultipartInputSerializer},
        responses={201: AttestationOutput},
        parameters=[IDEMPOTENCY],
        summary="Answer a human checklist item (compliance officers; never for a version you submitted)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        target = version_get(name, version)
        payload = self.MultipartInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        attestation = services.attestation_answer(version=target, user=request.user, **payload.validated_data)
        return Response(AttestationOutput(attestation).data, status=status.HTTP_201_CREATED)


class FrameworkItemOutput(serializers.Serializer):
    id = serializers.CharField()
    requirement = serializers.CharField()
    source = serializers.CharField()
    evidence = serializers.CharField()
    decided_by = serializers.ChoiceField(choices=["automatic", "human"])
    rule = serializers.CharField(required=False, help_text="the automatic rule that decides the item")


class FrameworkOutput(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    version = serializers.CharField()
    applies_when = serializers.DictField()
    items = FrameworkItemOutput(many=True)


class FrameworkListApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        responses=FrameworkOutput(many=True), summary="The framework checklists and how each item is decided"
    )
    def get(self, request):
        return Response(FrameworkOutput([framework_load(fw) for fw in FRAMEWORK_IDS], many=True).data)


class FrameworkDetailApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(responses=FrameworkOutput, summary="One framework checklist")
    def get(self, request, framework):
        if framework not in FRAMEWORK_IDS:
            raise Http404
        return Response(FrameworkOutput(framework_load(framework)).data)

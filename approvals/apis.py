"""The approval workflow's REST API: requests, decisions, withdrawals and the policies per risk tier."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import services as approvals
from approvals.selectors import approval_request_state
from core.idempotency import IDEMPOTENCY, IdempotentPostMixin
from core.parsers import JSONParser
from core.permissions import CanRegister, HasAnyRole, IsComplianceOfficer, IsSuperuser, readable_rows
from core.serializers import StrictSerializer, refuse_input
from mlio.confinement import LIMIT_RANGES
from registry.models import ROLLBACK_ON_BREACH, UNEXPLAINABLE, ApprovalDecision, ApprovalPolicy, ApprovalRequest
from registry.policies import POLICY_NUMBER_RANGES
from registry.selectors import GATED_STAGES, version_get
from registry.serializers import PolicyOutput


class ApprovalRequestOutput(serializers.ModelSerializer):
    model = serializers.CharField(source="version.model.name")
    version = serializers.CharField(source="version.version")
    requested_by = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "model",
            "version",
            "target_stage",
            "status",
            "requested_by",
            "trigger",
            "artifact_sha256",
            "policy",
            "justification_digest",
            "created_at",
            "decided_at",
            "expires_at",
            "progress",
        ]

    def get_requested_by(self, obj) -> str:
        return f"user:{obj.requested_by_id}" if obj.requested_by_id else "system"

    def get_progress(self, obj) -> dict:
        return approval_request_state(obj)


class ApprovalRequestSubmitApi(IdempotentPostMixin, APIView):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        target_stage = serializers.ChoiceField(choices=GATED_STAGES)
        justification = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    @extend_schema(
        request=InputSerializer,
        responses={202: ApprovalRequestOutput},
        parameters=[IDEMPOTENCY],
        summary="Ask for approval to move a version to a stage; evidence jobs are queued",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, name, version):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        created = approvals.approval_request_submit(
            version=version_get(name, version), user=request.user, **payload.validated_data
        )
        return Response(ApprovalRequestOutput(created).data, status=status.HTTP_202_ACCEPTED)


class _ReadableRequests:
    """Requests of the user's teams' models (every request for readers of everything); others are absent."""

    def get_queryset(self):
        requests = ApprovalRequest.objects.select_related("version__model")
        if getattr(self, "swagger_fake_view", False):
            return requests.none()
        return readable_rows(self.request.user, requests, "version__model")


class ApprovalRequestListApi(_ReadableRequests, generics.ListAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = ApprovalRequestOutput
    filterset_fields = ["status", "target_stage"]


class ApprovalRequestDetailApi(_ReadableRequests, generics.RetrieveAPIView):
    permission_classes = [HasAnyRole]
    serializer_class = ApprovalRequestOutput


class ApprovalDecideApi(IdempotentPostMixin, APIView):
    permission_classes = [IsComplianceOfficer]

    class InputSerializer(StrictSerializer):
        verdict = serializers.ChoiceField(choices=ApprovalDecision.Verdict.values)
        comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)

    class OutputSerializer(serializers.Serializer):
        verdict = serializers.CharField()
        artifact_sha256 = serializers.CharField()
        evidence_digests = serializers.DictField()
        request = ApprovalRequestOutput()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer},
        parameters=[IDEMPOTENCY],
        summary="Approve or reject (compliance officers; never your own request)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, pk):
        target = get_object_or_404(ApprovalRequest, pk=pk)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        decision = approvals.approval_decide(request=target, user=request.user, **payload.validated_data)
        target.refresh_from_db()
        body = {
            "verdict": decision.verdict,
            "artifact_sha256": decision.artifact_sha256,
            "evidence_digests": decision.evidence_digests,
            "request": ApprovalRequestOutput(target).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ApprovalWithdrawApi(IdempotentPostMixin, APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(
        request=None,
        responses=ApprovalRequestOutput,
        parameters=[IDEMPOTENCY],
        summary="Withdraw a request (its requester or a compliance officer)",
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def handle_post(self, request, pk):
        refuse_input(request.data)
        target = approvals.approval_withdraw(request=get_object_or_404(ApprovalRequest, pk=pk), user=request.user)
        return Response(ApprovalRequestOutput(target).data)


class PolicyListApi(generics.ListAPIView):
    permission_classes = [HasAnyRole]
    queryset = ApprovalPolicy.objects.all()
    serializer_class = PolicyOutput
    pagination_class = None


def _limit_field(name: str, help_text: str) -> serializers.IntegerField:
    low, high = LIMIT_RANGES[name]
    return serializers.IntegerField(min_value=low, max_value=high, required=False, help_text=help_text)


def _policy_number(name: str) -> serializers.IntegerField:
    low, high = POLICY_NUMBER_RANGES[name]
    return serializers.IntegerField(min_value=low, max_value=high, required=False)


class PolicyUpdateApi(APIView):
    permission_classes = [IsSuperuser]

    class InputSerializer(StrictSerializer):
        approvals_required = _policy_number("approvals_required")
        officer_approvals_required = _policy_number("officer_approvals_required")
        requires_explanation = serializers.BooleanField(required=False)
        requires_bias_audit = serializers.BooleanField(required=False)
        requires_model_cards = serializers.BooleanField(required=False)
        requires_drift_check_for_reapproval = serializers.BooleanField(required=False)
        requires_checklists_without_failures = serializers.BooleanField(required=False)
        requires_model_signature = serializers.BooleanField(required=False)
        unexplainable = serializers.ChoiceField(choices=UNEXPLAINABLE, required=False)
        validity_days = _policy_number("validity_days")
        evidence_max_age_days = _policy_number("evidence_max_age_days")
        bias_min_selection_rate_ratio = serializers.FloatField(min_value=0, max_value=1, required=False)
        bias_max_equalized_odds_difference = serializers.FloatField(min_value=0, max_value=1, required=False)
        rollback_on_breach = serializers.ChoiceField(
            choices=ROLLBACK_ON_BREACH,
            required=False,
            help_text="when a production deployment breaches its rollback threshold: recommend, or roll back",
        )
        evaluation_cpu_seconds = _limit_field("cpu_seconds", "CPU seconds one evaluation of a model may use")
        evaluation_memory_mb = _limit_field("memory_mb", "MiB of memory (address space) one evaluation may use")
        evaluation_wall_seconds = _limit_field("wall_seconds", "seconds one evaluation may run, by the clock")
        evaluation_output_mb = _limit_field("output_mb", "MiB of results one evaluation may write")

    @extend_schema(request=InputSerializer, responses=PolicyOutput, summary="Change a risk tier's policy (audited)")
    def patch(self, request, tier):
        payload = self.InputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        policy = approvals.approval_policy_update(
            policy=get_object_or_404(ApprovalPolicy, risk_tier=tier),
            user=request.user,
            changes=dict(payload.validated_data),
        )
        return Response(PolicyOutput(policy).data)


JSON_ONLY = [JSONParser]
for _api in (ApprovalRequestSubmitApi, ApprovalDecideApi, ApprovalWithdrawApi, PolicyUpdateApi):
    _api.parser_classes = JSON_ONLY

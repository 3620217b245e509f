from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import IsSuperuser
from core.serializers import StrictSerializer, refuse_input
from registry.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from registry.webhook_services import MASK, webhook_subscription_create, webhook_subscription_deactivate


class SecretHeaderOutput(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(help_text="Always masked: the value is stored encrypted and never shown.")


class WebhookOutput(serializers.ModelSerializer):
    secret_header = serializers.SerializerMethodField()

    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "secret_header", "active", "created_at"]

    @extend_schema_field(SecretHeaderOutput(allow_null=True))
    def get_secret_header(self, subscription) -> dict | None:
        if not subscription.secret_header_name:
            return None
        return {"name": subscription.secret_header_name, "value": MASK}


class SecretHeaderInput(StrictSerializer):
    name = serializers.CharField(max_length=100, help_text="e.g. X-Api-Key")
    value = serializers.CharField(max_length=1000, trim_whitespace=False)


class WebhookListCreateApi(generics.ListAPIView):
    permission_classes = [IsSuperuser]
    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookOutput

    class InputSerializer(StrictSerializer):
        url = serializers.URLField(max_length=500)
        event_types = serializers.ListField(
            child=serializers.RegexField(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$"),
            min_length=1,
            help_text='e.g. ["approval.*", "model_version.stage_changed", "checkpoint.created"]',
        )
        secret_header = SecretHeaderInput(
            required=False,
            help_text="A header sent with every delivery (e.g. an API key); stored encrypted, shown masked. "
            "Credentials in the URL are refused: put them here.",
        )

    class CreatedSerializer(WebhookOutput):
        secret = serializers.CharField(help_text="Shown once: verify X-Verity-Signature with it.")

        class Meta(WebhookOutput.Meta):
            fields = [*WebhookOutput.Meta.fields, "secret"]

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer}, summary="Subscribe a URL to events")
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(user=request.user, **payload.validated_data)
        return Response(self.CreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookDeactivateApi(APIView):
    permission_classes = [IsSuperuser]

    @extend_schema(request=None, responses=WebhookOutput, summary="Stop a subscription")
    def post(self, request, pk):
        refuse_input(request.data)
        subscription = webhook_subscription_deactivate(
            user=request.user, subscription=get_object_or_404(WebhookSubscription, pk=pk)
        )
        return Response(WebhookOutput(subscription).data)


class AttemptOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "status_code", "error", "duration_ms"]


class DeliveryOutput(serializers.ModelSerializer):
    attempt_log = AttemptOutput(many=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_seq", "action", "status", "attempts", "next_attempt_at", "attempt_log"]


class WebhookDeliveriesApi(generics.ListAPIView):
    permission_classes = [IsSuperuser]
    serializer_class = DeliveryOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        return WebhookDelivery.objects.filter(subscription_id=self.kwargs["pk"]).prefetch_related("attempt_log")

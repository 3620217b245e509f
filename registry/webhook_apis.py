import secrets

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audits.services import actor_for, audit_event_append, object_ref
from core.permissions import IsSuperuser
from core.serializers import StrictSerializer, refuse_input
from registry.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class WebhookOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "event_types", "active", "created_at"]


class WebhookListCreateApi(generics.ListAPIView):
    permission_classes = [IsSuperuser]
    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookOutput

    class InputSerializer(StrictSerializer):
        url = serializers.URLField(max_length=500)
        event_types = serializers.ListField(
            child=serializers.RegexField(r"^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$"),
            min_length=1,
            help_text='e.g. ["approval.*", "model_version.stage_changed"]',
        )

    class CreatedSerializer(WebhookOutput):
        secret = serializers.CharField(help_text="Shown once: verify X-Verity-Signature with it.")

        class Meta(WebhookOutput.Meta):
            fields = [*WebhookOutput.Meta.fields, "secret"]

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer}, summary="Subscribe a URL to events")
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():
            subscription = WebhookSubscription.objects.create(
                created_by=request.user, secret=secrets.token_urlsafe(32), **payload.validated_data
            )
            audit_event_append(
                actor=actor_for(request.user),
                action="webhook.subscribed",
                object_ref=object_ref(subscription),
                data={"url": subscription.url, "event_types": subscription.event_types},
            )
        return Response(self.CreatedSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookDeactivateApi(APIView):
    permission_classes = [IsSuperuser]

    @extend_schema(request=None, responses=WebhookOutput, summary="Stop a subscription")
    def post(self, request, pk):
        refuse_input(request.data)
        with transaction.atomic():
            subscription = get_object_or_404(WebhookSubscription.objects.select_for_update(), pk=pk)
            if subscription.active:
                subscription.active = False
                subscription.save(update_fields=["active"])
                audit_event_append(
                    actor=actor_for(request.user),
                    action="webhook.deactivated",
                    object_ref=object_ref(subscription),
                    data={"url": subscription.url},
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

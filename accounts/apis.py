"""Who am I, and the superuser's service-account API."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ServiceAccount
from accounts.services import service_account_create, service_account_revoke
from audits.services import actor_for
from core import roles
from core.permissions import IsSuperuser
from core.serializers import StrictSerializer, refuse_input


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        is_superuser = serializers.BooleanField()
        service_account = serializers.CharField(allow_null=True)

    @extend_schema(responses=OutputSerializer, summary="Who am I: the caller's identity and roles")
    def get(self, request):
        account = getattr(request.user, "service_account", None)
        data = {
            "username": request.user.get_username(),
            "roles": sorted(roles.roles_of(request.user)),
            "is_superuser": request.user.is_superuser,
            "service_account": account.name if account else None,
        }
        return Response(self.OutputSerializer(data).data)


class ServiceAccountOutput(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = ServiceAccount
        fields = ["name", "description", "roles", "created_at", "revoked_at"]

    def get_roles(self, obj) -> list[str]:
        return sorted(obj.user.groups.values_list("name", flat=True))


class ServiceAccountListCreateApi(generics.ListAPIView):
    permission_classes = [IsSuperuser]
    serializer_class = ServiceAccountOutput
    queryset = ServiceAccount.objects.select_related("user").prefetch_related("user__groups")

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)
        role = serializers.ChoiceField(choices=roles.SERVICE_ACCOUNT_ROLES, default=roles.CI)
        description = serializers.CharField(max_length=300, required=False, default="")

    class CreatedSerializer(ServiceAccountOutput):
        token = serializers.CharField(help_text="Shown once; only its SHA-256 is kept.")

        class Meta(ServiceAccountOutput.Meta):
            fields = [*ServiceAccountOutput.Meta.fields, "token"]

    @extend_schema(summary="List service accounts")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer}, summary="Create a service account")
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        account, token = service_account_create(**payload.validated_data, actor=actor_for(request.user))
        account.token = token
        return Response(self.CreatedSerializer(account).data, status=status.HTTP_201_CREATED)


class ServiceAccountRevokeApi(APIView):
    permission_classes = [IsSuperuser]

    @extend_schema(request=None, responses=ServiceAccountOutput, summary="Revoke a service account and its tokens")
    def post(self, request, name: str):
        refuse_input(request.data)
        account = get_object_or_404(ServiceAccount, name=name)
        account = service_account_revoke(account=account, actor=actor_for(request.user))
        return Response(ServiceAccountOutput(account).data)

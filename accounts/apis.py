"""Who am I, a person's own API tokens, and the superuser's service-account API."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import PersonalToken, ServiceAccount
from accounts.permissions import IsPerson, SignedInSession
from accounts.selectors import personal_tokens_of
from accounts.services import (
    personal_token_issue,
    personal_token_revoke,
    service_account_create,
    service_account_revoke,
)
from audits.services import actor_for
from core import roles
from core.permissions import IsSuperuser
from core.serializers import StrictSerializer, refuse_input
from core.teams import is_team_name


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        teams = serializers.ListField(child=serializers.CharField(), help_text="the teams whose models it acts on")
        is_superuser = serializers.BooleanField()
        service_account = serializers.CharField(allow_null=True)

    @extend_schema(responses=OutputSerializer, summary="Who am I: the caller's identity and roles")
    def get(self, request):
        account = getattr(request.user, "service_account", None)
        data = {
            "username": request.user.get_username(),
            "roles": sorted(name for name in roles.roles_of(request.user) if not is_team_name(name)),
            "teams": sorted(name for name in roles.roles_of(request.user) if is_team_name(name)),
            "is_superuser": request.user.is_superuser,
            "service_account": account.name if account else None,
        }
        return Response(self.OutputSerializer(data).data)


class ServiceAccountOutput(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField()

    class Meta:
        model = ServiceAccount
        fields = ["name", "description", "roles", "teams", "created_at", "revoked_at"]

    def get_roles(self, obj) -> list[str]:
        return sorted(group.name for group in obj.user.groups.all() if not is_team_name(group.name))

    def get_teams(self, obj) -> list[str]:
        return sorted(group.name for group in obj.user.groups.all() if is_team_name(group.name))


class ServiceAccountListCreateApi(generics.ListAPIView):
    permission_classes = [IsSuperuser]
    serializer_class = ServiceAccountOutput
    queryset = ServiceAccount.objects.select_related("user").prefetch_related("user__groups")

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)
        role = serializers.ChoiceField(choices=roles.SERVICE_ACCOUNT_ROLES, default=roles.CI)
        description = serializers.CharField(max_length=300, required=False, default="")
        team = serializers.CharField(
            max_length=150, required=False, default=None, help_text="the team (team:<name>) whose models it acts on"
        )

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


class PersonalTokenOutput(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()

    class Meta:
        model = PersonalToken
        fields = ["id", "name", "prefix", "access", "created_at", "expires_at", "last_used_at", "revoked_at", "state"]

    def get_state(self, obj) -> str:
        return obj.state()


class PersonalTokenListCreateApi(generics.ListAPIView):
    """The caller's own tokens; any person may hold them, a service account never."""

    serializer_class = PersonalTokenOutput

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=100)
        expires_in_days = serializers.IntegerField(
            min_value=1, help_text="Required; at most PERSONAL_TOKEN_MAX_DAYS (90 by default)."
        )
        access = serializers.ChoiceField(
            choices=PersonalToken.Access.choices,
            default=PersonalToken.Access.READ,
            help_text="read (the default, and always for auditors) or write (never decides).",
        )

    class CreatedSerializer(PersonalTokenOutput):
        token = serializers.CharField(help_text="Shown once; only its SHA-256 is kept.")

        class Meta(PersonalTokenOutput.Meta):
            fields = [*PersonalTokenOutput.Meta.fields, "token"]

    def get_permissions(self):
        return [IsPerson(), SignedInSession()] if self.request.method == "POST" else [IsPerson()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PersonalToken.objects.none()
        return personal_tokens_of(self.request.user)

    @extend_schema(summary="List my personal API tokens (never the tokens themselves)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=InputSerializer,
        responses={201: CreatedSerializer},
        summary="Issue a personal API token for myself (signed in, not with a token); shown once",
    )
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row, token = personal_token_issue(user=request.user, **payload.validated_data)
        row.token = token
        response = Response(self.CreatedSerializer(row).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class PersonalTokenRevokeApi(APIView):
    permission_classes = [IsPerson]

    @extend_schema(request=None, responses=PersonalTokenOutput, summary="Revoke one of my personal API tokens")
    def post(self, request, pk: int):
        refuse_input(request.data)
        token = get_object_or_404(personal_tokens_of(request.user), pk=pk)
        return Response(PersonalTokenOutput(personal_token_revoke(token=token, user=request.user)).data)

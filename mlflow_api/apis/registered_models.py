"""registered-models/*: create, get, search, update, tags, aliases; delete and rename are refused."""

from rest_framework import serializers
from rest_framework.response import Response

from core.permissions import CanPromote, CanRegister
from core.serializers import StrictSerializer
from mlflow_api import selectors, services
from mlflow_api.apis.base import MlflowApi, TagInput, never, refuse_unsupported, tag_dict
from mlflow_api.shapes import model_version_json, registered_model_json
from registry import aliases, metadata

NAME = serializers.CharField(max_length=100)
NOT_DEPLOYMENT_JOBS = "deployment jobs are Databricks's; approvals govern stages here."


class RegisteredModelCreateApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = serializers.SlugField(max_length=100)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        tags = TagInput(many=True, required=False, default=list)
        deployment_job_id = serializers.CharField(required=False, allow_blank=True)

    def post(self, request):
        data = self.read(self.InputSerializer)
        refuse_unsupported(data.get("deployment_job_id"), "deployment_job_id", NOT_DEPLOYMENT_JOBS)
        model = services.mlflow_model_create(
            user=request.user, name=data["name"], description=data["description"], tags=tag_dict(data["tags"])
        )
        return Response({"registered_model": registered_model_json(model)})


class RegisteredModelGetApi(MlflowApi):
    class InputSerializer(StrictSerializer):
        name = NAME

    def get(self, request):
        model = selectors.model_get(self.read(self.InputSerializer)["name"])
        return Response({"registered_model": registered_model_json(model)})


class SearchInput(StrictSerializer):
    filter = serializers.CharField(required=False, allow_blank=True, default="")
    max_results = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=100)
    order_by = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    page_token = serializers.RegexField(r"^[0-9]+$", required=False, allow_blank=True, default="")


def page(rows, data: dict) -> tuple[list, str]:
    """One page of rows and the token of the next one ("" after the last)."""
    start = int(data["page_token"] or 0)
    end = start + data["max_results"]
    return list(rows[start:end]), str(end) if len(rows[end : end + 1]) else ""


class RegisteredModelSearchApi(MlflowApi):
    def get(self, request):
        data = self.read(SearchInput)
        refuse_unsupported(data["order_by"], "order_by", "models are listed by name.")
        models, token = page(selectors.models_search(data["filter"]), data)
        body = {"registered_models": [registered_model_json(model) for model in models]}
        return Response({**body, "next_page_token": token} if token else body)


class RegisteredModelUpdateApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        description = serializers.CharField(required=False, allow_blank=True, default="")
        deployment_job_id = serializers.CharField(required=False, allow_blank=True)

    def patch(self, request):
        data = self.read(self.InputSerializer)
        refuse_unsupported(data.get("deployment_job_id"), "deployment_job_id", NOT_DEPLOYMENT_JOBS)
        model = metadata.model_metadata_update(
            model=selectors.model_get(data["name"]), user=request.user, description=data["description"]
        )
        return Response({"registered_model": registered_model_json(model)})


class RegisteredModelDeleteApi(MlflowApi):
    permission_classes = [CanRegister]

    def delete(self, request):
        raise never("Deleting a registered model", "its versions, approvals and audit trail are kept for good.")


class RegisteredModelRenameApi(MlflowApi):
    permission_classes = [CanRegister]

    def post(self, request):
        raise never("Renaming a registered model", "the audit trail and approvals name it.")


class RegisteredModelTagSetApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        key = serializers.CharField(max_length=metadata.TAG_KEY_MAX)
        value = serializers.CharField(max_length=metadata.TAG_VALUE_MAX, allow_blank=True)

    def post(self, request):
        data = self.read(self.InputSerializer)
        model = selectors.model_get(data["name"])
        metadata.model_metadata_update(model=model, user=request.user, tags={data["key"]: data["value"]})
        return Response({})


class RegisteredModelTagDeleteApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        key = serializers.CharField(max_length=metadata.TAG_KEY_MAX)

    def delete(self, request):
        data = self.read(self.InputSerializer)
        model = selectors.model_get(data["name"])
        metadata.model_metadata_update(model=model, user=request.user, tags={data["key"]: None})
        return Response({})


class LatestVersionsApi(MlflowApi):
    class InputSerializer(StrictSerializer):
        name = NAME
        stages = serializers.ListField(child=serializers.CharField(), required=False, default=list)

    def post(self, request):
        data = self.read(self.InputSerializer)
        body = registered_model_json(selectors.model_get(data["name"]))
        wanted = {stage.lower() for stage in data["stages"]}
        latest = [v for v in body["latest_versions"] if not wanted or v["current_stage"].lower() in wanted]
        return Response({"model_versions": latest})


class RegisteredModelAliasApi(MlflowApi):
    """One address, three operations (MLflow's): set (POST), delete (DELETE), the version it names (GET)."""

    class SetInput(StrictSerializer):
        name = NAME
        alias = serializers.CharField(max_length=100)
        version = serializers.CharField(max_length=50)

    class AliasInput(StrictSerializer):
        name = NAME
        alias = serializers.CharField(max_length=100)

    def get_permissions(self):
        return [CanPromote()] if self.request.method in ("POST", "DELETE") else super().get_permissions()

    def post(self, request):
        data = self.read(self.SetInput)
        version = selectors.version_get(data["name"], data["version"])
        services.mlflow_alias_set(version=version, alias=data["alias"], user=request.user)
        return Response({})

    def delete(self, request):
        data = self.read(self.AliasInput)
        aliases.model_alias_delete(model=selectors.model_get(data["name"]), alias=data["alias"], user=request.user)
        return Response({})

    def get(self, request):
        data = self.read(self.AliasInput)
        version = selectors.alias_version_get(data["name"], data["alias"])
        return Response({"model_version": model_version_json(version)})

"""model-versions/*: create (pulled from the tracking server), get, search, update, tags, stage transitions,
download URI; delete is refused."""

from django.urls import reverse
from rest_framework import serializers
from rest_framework.response import Response

from core.errors import DomainError
from core.permissions import CanPromote, CanRegister
from core.serializers import StrictSerializer
from mlflow_api import selectors, services
from mlflow_api.apis.base import MlflowApi, TagInput, never, refuse_unsupported, tag_dict
from mlflow_api.apis.registered_models import NAME, SearchInput, page
from mlflow_api.shapes import STAGES_BY_MLFLOW_NAME, model_version_json
from registry import metadata

VERSION = serializers.CharField(max_length=50)


class ModelVersionCreateApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        source = serializers.CharField(max_length=1000)
        run_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        tags = TagInput(many=True, required=False, default=list)
        run_link = serializers.CharField(max_length=1000, required=False, allow_blank=True)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        model_id = serializers.CharField(max_length=100, required=False, allow_blank=True)

    def post(self, request):
        data = self.read(self.InputSerializer)
        refuse_unsupported(data.get("run_link"), "run_link", "the run is read from the tracking server itself.")
        version = services.mlflow_model_version_create(
            user=request.user,
            model=selectors.model_get(data["name"]),
            source=_source(data),
            run_id=data["run_id"],
            description=data["description"],
            tags=tag_dict(data["tags"]),
        )
        return Response({"model_version": model_version_json(version)})


def _source(data: dict) -> str:
    # MLflow's client sends a logged model both as source (models:/<id>) and as model_id; they must agree.
    model_id = data.get("model_id")
    if model_id and data["source"].strip() != f"models:/{model_id}":
        message = f"names logged model {model_id}, but source is {data['source']}."
        raise DomainError("invalid", f"model_id: {message}", fields={"model_id": [message]})
    return data["source"]


class ModelVersionGetApi(MlflowApi):
    class InputSerializer(StrictSerializer):
        name = NAME
        version = VERSION

    def get(self, request):
        data = self.read(self.InputSerializer)
        return Response({"model_version": model_version_json(selectors.version_get(data["name"], data["version"]))})


class ModelVersionSearchApi(MlflowApi):
    def get(self, request):
        data = self.read(SearchInput)
        refuse_unsupported(data["order_by"], "order_by", "versions are listed by model, then as registered.")
        versions, token = page(selectors.versions_search(data["filter"]), data)
        body = {"model_versions": [model_version_json(v, v.mlflow_number) for v in versions]}
        return Response({**body, "next_page_token": token} if token else body)


class ModelVersionUpdateApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        version = VERSION
        description = serializers.CharField(required=False, allow_blank=True, default="")

    def patch(self, request):
        data = self.read(self.InputSerializer)
        version = metadata.model_version_metadata_update(
            version=selectors.version_get(data["name"], data["version"]),
            user=request.user,
            description=data["description"],
        )
        return Response({"model_version": model_version_json(version)})


class ModelVersionDeleteApi(MlflowApi):
    permission_classes = [CanRegister]

    def delete(self, request):
        raise never("Deleting a model version", "its artifact, approvals and audit trail are kept for good.")


class ModelVersionTagSetApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        version = VERSION
        key = serializers.CharField(max_length=metadata.TAG_KEY_MAX)
        value = serializers.CharField(max_length=metadata.TAG_VALUE_MAX, allow_blank=True)

    def post(self, request):
        data = self.read(self.InputSerializer)
        version = selectors.version_get(data["name"], data["version"])
        services.mlflow_version_tag_set(version=version, key=data["key"], value=data["value"], user=request.user)
        return Response({})


class ModelVersionTagDeleteApi(MlflowApi):
    permission_classes = [CanRegister]

    class InputSerializer(StrictSerializer):
        name = NAME
        version = VERSION
        key = serializers.CharField(max_length=metadata.TAG_KEY_MAX)

    def delete(self, request):
        data = self.read(self.InputSerializer)
        version = selectors.version_get(data["name"], data["version"])
        services.mlflow_version_tag_delete(version=version, key=data["key"], user=request.user)
        return Response({})


class TransitionStageApi(MlflowApi):
    permission_classes = [CanPromote]

    class InputSerializer(StrictSerializer):
        name = NAME
        version = VERSION
        stage = serializers.CharField(max_length=20)
        archive_existing_versions = serializers.BooleanField(required=False, default=False)

    def post(self, request):
        data = self.read(self.InputSerializer)
        stage = STAGES_BY_MLFLOW_NAME.get(data["stage"].lower())
        if stage is None:
            message = "one of None, Staging, Production, Archived."
            raise DomainError("invalid", f"stage: {message}", fields={"stage": [message]})
        version = services.mlflow_stage_transition(
            version=selectors.version_get(data["name"], data["version"]),
            stage=stage,
            user=request.user,
            archive_existing_versions=data["archive_existing_versions"],
        )
        return Response({"model_version": model_version_json(version)})


class DownloadUriApi(MlflowApi):
    class InputSerializer(StrictSerializer):
        name = NAME
        version = VERSION

    def get(self, request):
        data = self.read(self.InputSerializer)
        version = selectors.version_get(data["name"], data["version"])
        if version.artifact is None:
            raise DomainError(
                "not_found", f"{version} has no artifact: its model is known by its predictions.", status_code=404
            )
        path = f"{version.model.name}/{selectors.version_number(version)}"
        uri = request.build_absolute_uri(reverse("mlflow-artifacts:artifact", args=[path]))
        return Response({"artifact_uri": uri.rstrip("/")})

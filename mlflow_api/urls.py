"""MLflow's model registry REST API 2.0, under /api/2.0/mlflow/."""

from django.urls import path, re_path

from mlflow_api.apis import model_versions, registered_models
from mlflow_api.apis.base import NotServedApi

models = "registered-models"
versions = "model-versions"

urlpatterns = [
    path(f"{models}/create", registered_models.RegisteredModelCreateApi.as_view()),
    path(f"{models}/get", registered_models.RegisteredModelGetApi.as_view()),
    path(f"{models}/search", registered_models.RegisteredModelSearchApi.as_view()),
    path(f"{models}/update", registered_models.RegisteredModelUpdateApi.as_view()),
    path(f"{models}/delete", registered_models.RegisteredModelDeleteApi.as_view()),
    path(f"{models}/rename", registered_models.RegisteredModelRenameApi.as_view()),
    path(f"{models}/set-tag", registered_models.RegisteredModelTagSetApi.as_view()),
    path(f"{models}/delete-tag", registered_models.RegisteredModelTagDeleteApi.as_view()),
    path(f"{models}/get-latest-versions", registered_models.LatestVersionsApi.as_view()),
    path(f"{models}/alias", registered_models.RegisteredModelAliasApi.as_view()),
    path(f"{versions}/create", model_versions.ModelVersionCreateApi.as_view()),
    path(f"{versions}/get", model_versions.ModelVersionGetApi.as_view()),
    path(f"{versions}/search", model_versions.ModelVersionSearchApi.as_view()),
    path(f"{versions}/update", model_versions.ModelVersionUpdateApi.as_view()),
    path(f"{versions}/delete", model_versions.ModelVersionDeleteApi.as_view()),
    path(f"{versions}/set-tag", model_versions.ModelVersionTagSetApi.as_view()),
    path(f"{versions}/delete-tag", model_versions.ModelVersionTagDeleteApi.as_view()),
    path(f"{versions}/transition-stage", model_versions.TransitionStageApi.as_view()),
    path(f"{versions}/get-download-uri", model_versions.DownloadUriApi.as_view()),
    re_path(r"", NotServedApi.as_view()),
]

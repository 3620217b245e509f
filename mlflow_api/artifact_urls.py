"""The artifact service MLflow's client downloads a version from, under /api/2.0/mlflow-artifacts/."""

from django.urls import path

from mlflow_api.apis import artifacts

urlpatterns = [
    path("artifacts", artifacts.ArtifactListApi.as_view(), name="artifacts"),
    path("artifacts/<path:path>", artifacts.ArtifactDownloadApi.as_view(), name="artifact"),
]

"""mlflow-artifacts/artifacts: the listing and download that MLflow's client uses on a version's download URI
(<model>/<version number>/<path inside the model>)."""

from django.http import FileResponse
from rest_framework import serializers
from rest_framework.response import Response

from core.errors import DomainError
from core.serializers import StrictSerializer
from mlflow_api import selectors
from mlflow_api.apis.base import MlflowApi
from mlflow_api.artifacts import artifact_files, listing, open_file


def _split(path: str) -> tuple[str, str, str]:
    """<model>/<number>[/<path>] into its three parts; '..' and empty segments are refused."""
    parts = path.strip("/").split("/")
    if len(parts) < 2 or any(part in ("", ".", "..") for part in parts):
        message = "expected <model>/<version>[/<path in the model>]."
        raise DomainError("invalid", f"path: {message}", fields={"path": [message]})
    return parts[0], parts[1], "/".join(parts[2:])


class ArtifactListApi(MlflowApi):
    class InputSerializer(StrictSerializer):
        path = serializers.CharField(max_length=2000)

    def get(self, request):
        name, number, folder = _split(self.read(self.InputSerializer)["path"])
        files = artifact_files(selectors.version_get(name, number))
        return Response({"files": listing(files, folder)})


class ArtifactDownloadApi(MlflowApi):
    def get(self, request, path):
        name, number, inside = _split(path)
        files = artifact_files(selectors.version_get(name, number))
        return FileResponse(open_file(files, inside), as_attachment=True, filename=inside.rsplit("/", 1)[-1])

"""What every MLflow API view shares: MLflow's error shape, JSON input, strict fields, and no place in this
service's OpenAPI schema (MLflow's REST API reference describes these endpoints)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.errors import DomainError
from core.parsers import JSONParser
from core.permissions import HasAnyRole
from core.serializers import StrictSerializer
from mlflow_api.errors import MlflowErrors


@extend_schema(exclude=True)
class MlflowApi(MlflowErrors, APIView):
    parser_classes = [JSONParser]
    permission_classes = [HasAnyRole]

    def read(self, serializer_class: type[StrictSerializer]) -> dict:
        """The operation's input: the query string of a GET, the JSON body otherwise."""
        data = self.request.query_params if self.request.method == "GET" else self.request.data
        payload = serializer_class(data=data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


class TagInput(StrictSerializer):
    key = serializers.CharField(max_length=250)
    value = serializers.CharField(max_length=5000, allow_blank=True)


def tag_dict(tags: list[dict]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in tags}


def refuse_unsupported(value, field: str, why: str) -> None:
    """A field of MLflow's API this registry has no meaning for is refused when given, never ignored."""
    if value:
        raise DomainError("invalid", f"{field}: {why}", fields={field: [why]})


def never(operation: str, why: str) -> DomainError:
    return DomainError("refused", f"{operation} is refused: {why}", status_code=403)


class NotServedApi(MlflowApi):
    """Any other MLflow path (its tracking API, say): MLflow's ENDPOINT_NOT_FOUND, saying what is served."""

    permission_classes = [AllowAny]

    def handle(self, request, *args, **kwargs):
        raise DomainError(
            "endpoint_not_found",
            f"{request.method} {request.path} is not served: this service serves MLflow's model registry "
            "(registered-models/*, model-versions/*); runs and experiments stay on the tracking server.",
            status_code=404,
        )

    get = post = patch = put = delete = handle

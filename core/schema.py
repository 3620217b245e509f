from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.api_tasks import task_tag


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class Error(serializers.Serializer):
    error = ErrorBody()


# Every error answer has the one shape of core.errors. What any operation may answer: bad parameters or
# input, no or a failed authentication, a role that may not, a row or page that does not exist, throttling.
_ANY_OPERATION = {
    400: "Invalid input or query parameters: `fields` names each problem.",
    401: "Not authenticated.",
    403: "Authenticated, but not allowed.",
    404: "Not found.",
    429: "Throttled; `Retry-After` says when to try again.",
}
# What an operation that reads a body may answer besides (core.parsers, core.input_guard, the services).
_WITH_A_BODY = {
    409: "Refused by the object's current state.",
    411: "A body sent chunked, without a Content-Length.",
    413: "The body, or a file in it, is larger than this operation takes.",
    415: "A media type this operation does not read.",
}


class AutoSchema(BaseAutoSchema):
    """Names a serializer nested in an API class after that class (`ServiceAccountListCreateInput`),
    so every API may call its own serializers InputSerializer and OutputSerializer; documents the error
    answers every operation may give, in the one error shape; groups operations by task (``TASKS``)."""

    def get_tags(self) -> list[str]:
        return [task_tag(self.path)]

    def get_serializer_name(self, serializer, direction) -> str:
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        outer, inner = qualname.rsplit(".", 1)
        return outer.replace(".", "").removesuffix("Api") + inner.removesuffix("Serializer")

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {**_ANY_OPERATION, **(_WITH_A_BODY if self.method in ("POST", "PUT", "PATCH", "DELETE") else {})}
        for status, description in errors.items():
            if str(status) not in responses:
                error = OpenApiResponse(Error, description=description)
                responses[str(status)] = self._get_response_for_code(error, str(status), direction=direction)
        return responses

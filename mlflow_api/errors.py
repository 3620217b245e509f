"""Errors in MLflow's shape, `{"error_code": ..., "message": ...}` with the HTTP status MLflow gives that code,
so MLflow's client raises MlflowException with the service's message."""

from core.errors import exception_handler

# The registry's own codes that have an MLflow name; the rest follow the HTTP status.
_BY_CODE = {
    "already_exists": ("RESOURCE_ALREADY_EXISTS", 400),
    "conflict": ("RESOURCE_ALREADY_EXISTS", 400),
    "not_approved": ("PERMISSION_DENIED", 403),
    "artifact_mismatch": ("PERMISSION_DENIED", 403),
    "archived": ("INVALID_STATE", 400),
    "not_found": ("RESOURCE_DOES_NOT_EXIST", 404),
    "endpoint_not_found": ("ENDPOINT_NOT_FOUND", 404),
}
_BY_STATUS = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",
    409: "INVALID_STATE",
    413: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
    # The tracking server a version is pulled from did not answer in time (MLFLOW_HTTP_TIMEOUT).
    504: "TEMPORARILY_UNAVAILABLE",
}


def mlflow_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    error = response.data["error"]
    code, status = _BY_CODE.get(error["code"], (None, response.status_code))
    if code is None:
        code = _BY_STATUS.get(status, "INTERNAL_ERROR")
        status = 400 if status in (409, 413) else status
    response.status_code = status
    response.data = {"error_code": code, "message": error["message"]}
    return response


class MlflowErrors:
    """For the MLflow API's views: every error in MLflow's shape."""

    def get_exception_handler(self):
        return mlflow_exception_handler

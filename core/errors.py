"""One error shape for every API error: {"error": {"code", "message", "fields"}}."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)
# The database refused, dropped or timed out a connection (or a lock): nothing the caller sent was wrong, and
# the same request may well succeed in a moment. Answered 503 with Retry-After, never a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable just now; try again shortly."
# An address locked out after repeated failed sign-ins or bearer tokens (django-axes): 429 with Retry-After.
LOCKED_OUT_MESSAGE = "Too many failed sign-ins or tokens from this address; try again later."


class DomainError(Exception):
    """A business rule refused the operation; services raise it, the handler renders it."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, code: str, message: str, *, fields: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> dict[str, list[str]]:
    """DRF validation errors nest; flatten them to dotted field paths."""
    out: dict[str, list[str]] = {}

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}" if path else str(index))
        else:
            messages = value if isinstance(value, list) else [value]
            out.setdefault(path or "non_field_errors", []).extend(str(m) for m in messages)

    walk(detail, "")
    return out


def _validation_body(exc: exceptions.ValidationError) -> dict:
    fields = _flatten(exc.detail)
    first_field, first_messages = next(iter(fields.items()), ("", ["Invalid input."]))
    message = f"{first_field}: {first_messages[0]}" if first_field != "non_field_errors" else first_messages[0]
    return error_body("invalid", message, fields)


def database_unavailable_headers(exc: Exception) -> dict[str, str]:
    logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return {"Retry-After": str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)}


def exception_handler(exc, context):
    if isinstance(exc, DATABASE_UNAVAILABLE):
        body = error_body("database_unavailable", DATABASE_UNAVAILABLE_MESSAGE)
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers=database_unavailable_headers(exc))
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        body = _validation_body(exc)
    else:
        body = error_body(getattr(exc.detail, "code", None) or exc.default_code, str(exc.detail))
    return Response(body, status=exc.status_code, headers=headers)


def json_error_view(status_code: int, code: str, message: str):
    def view(request, exception=None):
        return JsonResponse(error_body(code, message), status=status_code)

    return view

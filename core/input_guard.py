"""What a request may carry, checked before its body is read: no NUL or lone surrogate in the path or the
query string (no database column stores one: `/versions/%00/` is a 400 here, before a lookup fails on it),
and a body no larger than the operation takes.

An API view says how large a file it takes (`upload_limit_setting`, the name of a setting such as
MAX_ARTIFACT_BYTES, or `upload_limit_bytes`; none by default) and how many (`upload_files`, one unless it
says more; None for as many as DATA_UPLOAD_MAX_NUMBER_FILES). The middleware refuses a request whose
Content-Length is larger than that allows (plus DATA_UPLOAD_MAX_MEMORY_SIZE for the other fields), and a
body sent chunked, before a byte of it is read; the upload handler then stops a file part as soon as its
bytes pass the view's limit, so a file that is too large never reaches the disk whole.

API views answer in their own error shape (the view's exception handler renders the refusal: MLflow's on
the MLflow API). Django views (the admin, for staff) keep Django's own body limits and their forms' checks,
and get the 400 page for a NUL.
"""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.urls import Resolver404, resolve
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer

from core.parsers import PayloadTooLarge, unstorable_text


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_code = "length_required"
    default_detail = "A request body must be sent with a Content-Length, not chunked."


def view_upload_limit(view_class) -> tuple[int, int]:
    """The largest file the view takes (0: none) and the largest body it takes, in bytes."""
    setting = getattr(view_class, "upload_limit_setting", None)
    per_file = getattr(settings, setting) if setting else getattr(view_class, "upload_limit_bytes", 0)
    files = getattr(view_class, "upload_files", 1)
    if files is None:
        files = settings.DATA_UPLOAD_MAX_NUMBER_FILES or 0
    return per_file, settings.DATA_UPLOAD_MAX_MEMORY_SIZE + per_file * files


def _unstorable_part(request) -> str | None:
    if unstorable_text(request.path_info):
        return "path"
    for key, values in request.GET.lists():
        if unstorable_text(key) or any(unstorable_text(value) for value in values):
            return "query string"
    return None


def _body_problem(request, view_class) -> exceptions.APIException | None:
    per_file, body_limit = view_upload_limit(view_class)
    request.upload_limit = per_file
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        return LengthRequired()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return exceptions.ParseError("The Content-Length header is not a number.")
    if length > body_limit:
        return PayloadTooLarge(f"The request body has {length} bytes; this operation takes at most {body_limit} bytes.")
    return None


def _render(view_class, request, exc: exceptions.APIException):
    """The refusal as the view itself would answer it, in its own error shape."""
    view = view_class()
    response = view.get_exception_handler()(exc, {"view": view, "request": request})
    response.accepted_renderer = JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {}
    response["Connection"] = "close"  # the body stays unread: the connection cannot carry another request
    return response.render()


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            view_class = getattr(resolve(request.path_info).func, "cls", None)  # DRF's as_view() sets it
        except Resolver404:
            return self.get_response(request)
        where = _unstorable_part(request)
        if view_class is None:
            if where:
                raise BadRequest(f"The {where} holds a NUL or a lone surrogate character.")
            return self.get_response(request)
        problem = _body_problem(request, view_class)
        if where:
            problem = exceptions.ParseError(f"The {where} holds a NUL or a lone surrogate character.")
        return _render(view_class, request, problem) if problem else self.get_response(request)


class UploadLimitHandler(FileUploadHandler):
    """First of FILE_UPLOAD_HANDLERS: stops the upload as soon as a file part passes the view's limit.

    It marks the request (the parser then answers 413) and stops with the connection reset, so Django neither
    keeps the partial file nor reads the rest of the body.
    """

    def receive_data_chunk(self, raw_data, start):
        limit = getattr(self.request, "upload_limit", None)
        if limit is not None and start + len(raw_data) > limit:
            self.request.upload_refused = (self.file_name, limit)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None

"""Every JSON document a request carries is read here: the body of a JSON request (both APIs), and JSON given as
text inside a form (a multipart upload's `metadata`). A document deeper than JSON_MAX_DEPTH, larger than
DATA_UPLOAD_MAX_MEMORY_SIZE, or holding what no store keeps (NUL, a lone surrogate, a number past a double)
is a 400 (413 for the size) in the one error shape before any code sees it. Form fields get the same
character rules."""

import codecs
import json
import math
import re

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

# PostgreSQL stores no NUL in text or jsonb, and UTF-8 has no lone surrogates: such a string can only fail later.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The request body is larger than this service accepts."


def unstorable_text(text: str) -> bool:
    return UNSTORABLE.search(text) is not None


def json_problem(value) -> str | None:
    """What makes a parsed document unacceptable, or None. Walks it without recursion, so depth cannot hurt."""
    limit = settings.JSON_MAX_DEPTH
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return f"nested too deep (more than {limit} levels)"
            children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
            for key, child in children:
                if key is not None and unstorable_text(key):
                    return "a key holds a NUL or a lone surrogate character"
                stack.append((child, depth + 1))
        elif isinstance(item, str) and unstorable_text(item):
            return "a string holds a NUL or a lone surrogate character"
        elif isinstance(item, float) and not math.isfinite(item):
            return "a number is too large"
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class InvalidJson(ValueError):
    """The text is no JSON document this service accepts; the message says why."""


def json_loads(text: str | bytes):
    """The document, or InvalidJson saying what is wrong with it."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidJson(f"nested too deep (more than {settings.JSON_MAX_DEPTH} levels)") from None
    except ValueError as exc:  # JSONDecodeError, undecodable bytes, an integer of more than 4300 digits
        raise InvalidJson(str(exc)) from None
    problem = json_problem(value)
    if problem:
        raise InvalidJson(problem)
    return value


def read_bounded(stream, limit: int) -> bytes:
    """At most `limit` bytes of the stream; PayloadTooLarge as soon as there are more."""
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than this service accepts ({limit} bytes for JSON).")
    return body


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        body = read_bounded(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            text = codecs.decode(body, encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - not {encoding}: {exc.reason}") from None
        try:
            return json_loads(text)
        except InvalidJson as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _check_form(data) -> None:
    for key, values in data.lists():
        if unstorable_text(key) or any(isinstance(v, str) and unstorable_text(v) for v in values):
            raise ParseError(f"Form field {key!r} holds a NUL or a lone surrogate character.")


def _check_files(files) -> None:
    for key, upload in files.items():
        if unstorable_text(key) or unstorable_text(upload.name or ""):
            raise ParseError(f"File field {key!r} has a name with a NUL or a lone surrogate character.")


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refused = getattr((parser_context or {}).get("request"), "upload_refused", None)
        if refused:  # core.input_guard.UploadLimitHandler stopped the body at the view's limit
            name, limit = refused
            raise PayloadTooLarge(f"The file {name!r} is larger than this operation takes ({limit} bytes).")
        _check_form(parsed.data)
        _check_files(parsed.files)
        return parsed

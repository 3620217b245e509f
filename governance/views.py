"""Pages for people: the landing page at `/` and the error pages outside the API.

Programs talk to /api/, and an error there keeps the API's JSON shape (core.errors); a person in a browser
(the admin, the landing page, a mistyped address) gets a page in the admin's look instead.
"""

import sys

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader

from core.errors import (
    DATABASE_UNAVAILABLE,
    DATABASE_UNAVAILABLE_MESSAGE,
    LOCKED_OUT_MESSAGE,
    database_unavailable_headers,
    json_error_view,
)

API_PREFIX = "/api/"

ERRORS = {
    400: ("bad_request", "Bad request.", "Bad request", "The server could not understand this request."),
    403: ("permission_denied", "Forbidden.", "Forbidden", "Your account may not open this page."),
    404: ("not_found", "Not found.", "Page not found", "There is no page at this address."),
    503: (
        "database_unavailable",
        DATABASE_UNAVAILABLE_MESSAGE,
        "Service unavailable",
        "The service cannot reach its database just now. Try again in a minute.",
    ),
    429: (
        "locked_out",
        LOCKED_OUT_MESSAGE,
        "Too many failed attempts",
        "Too many failed sign-ins came from your address. Try again later, or ask an administrator to lift it.",
    ),
    500: (
        "server_error",
        "Internal server error.",
        "Server error",
        "Something went wrong on our side. The error has been logged; quote the request id below when you report it.",
    ),
}


def _site() -> dict:
    return {"site_header": admin.site.site_header, "site_title": admin.site.site_title}


def landing(request):
    """Unauthenticated on purpose: it only says where things are, and shows no data."""
    return render(request, "governance/landing.html", {**_site(), "title": "Welcome"})


def database_unavailable(request, exception: Exception):
    """503 with Retry-After, as a page or (under /api/) in the error shape: the database, not the request, failed."""
    response = error_view(503)(request, exception)
    for header, value in database_unavailable_headers(exception).items():
        response[header] = value
    return response


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to an address locked out after repeated failed sign-ins or tokens: 429 with
    Retry-After, a page in the admin's look, or the error shape under /api/."""
    response = error_view(429)(request)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response


def server_error(request):
    """handler500. A database error raised outside a view (in a middleware, e.g. saving the session) reaches
    Django's handler instead of DatabaseUnavailableMiddleware: it is still an outage, not a bug."""
    failure = sys.exception()
    if isinstance(failure, DATABASE_UNAVAILABLE):
        return database_unavailable(request, failure)
    return error_view(500)(request)


def error_view(status_code: int):
    code, json_message, title, explanation = ERRORS[status_code]
    as_json = json_error_view(status_code, code, json_message)

    def view(request, exception=None):
        if request.path_info.startswith(API_PREFIX):
            return as_json(request, exception)
        # Rendered without the request's context processors: an error page must not need the database
        # or the session, which may be what failed.
        context = {
            **_site(),
            "title": title,
            "status_code": status_code,
            "explanation": explanation,
            "path": request.path,
            "request_id": getattr(request, "request_id", ""),
        }
        body = loader.render_to_string("governance/error.html", context)
        return HttpResponse(body, status=status_code)

    return view

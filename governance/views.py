"""Pages for people: the landing page at `/` and the error pages outside the API.

Programs talk to /api/, and an error there keeps the API's JSON shape (core.errors); a person in a browser
(the admin, the landing page, a mistyped address) gets a page in the admin's look instead.
"""

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import render
from django.template import loader

from core.errors import json_error_view

API_PREFIX = "/api/"

ERRORS = {
    400: ("bad_request", "Bad request.", "Bad request", "The server could not understand this request."),
    403: ("permission_denied", "Forbidden.", "Forbidden", "Your account may not open this page."),
    404: ("not_found", "Not found.", "Page not found", "There is no page at this address."),
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

"""Middleware of the project package: what pages outside the API answer when the database is down."""

from core.errors import DATABASE_UNAVAILABLE
from governance import views


class DatabaseUnavailableMiddleware:
    """A view whose database query fails (refused, dropped, timed out) answers 503 with Retry-After: a page
    in the admin's look, or the error shape under /api/. The API's own views answer the same through the
    exception handler (core.errors) before this is reached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return views.database_unavailable(request, exception)
        return None

"""The request in progress: its id, readable by services and audit events, and who reads its answer (for what a
page shows that depends on the reader, such as people's names, where the code that renders it has no request)."""

import contextvars

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id.get()


request: contextvars.ContextVar[object | None] = contextvars.ContextVar("request", default=None)


def current_reader():
    """The user the request in progress answers (None outside a request); read late, as authentication sets it."""
    return getattr(request.get(), "user", None)

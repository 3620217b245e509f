import re
import uuid

from core import request_context

HEADER = "X-Request-ID"
# A caller's id is kept only when it is short and plain, so it is safe to log and to store.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        rid = given if _ACCEPTABLE.match(given) else uuid.uuid4().hex
        request.request_id = rid
        token, reading = request_context.request_id.set(rid), request_context.request.set(request)
        try:
            response = self.get_response(request)
        finally:
            request_context.request.reset(reading)
            request_context.request_id.reset(token)
        response[HEADER] = rid
        return response

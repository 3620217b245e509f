"""The address a request came from, for login lockout (django-axes).

Behind a reverse proxy REMOTE_ADDR is the proxy's own address, the same for every caller: locking it out
would lock everyone out. With TRUSTED_PROXY_COUNT proxies in front, the client is the address the
outermost trusted proxy appended to X-Forwarded-For; entries left of it were written by the caller and
are not believed.
"""

from django.conf import settings


def client_ip(request) -> str | None:
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR")

"""One HTTP request to a destination checked by ``core.outbound``; Django-free.

The connection goes to an address that was checked, never to the name again (a rebinding name gains
nothing), while the Host header, SNI and the certificate check still use the name, so https stays verified.
Nothing is followed: a redirect is an answer like any other, returned to the caller, so a header meant for
the destination (a signature, a secret) never travels elsewhere.
"""

import http.client
import ssl

from core.outbound import CheckedDestination

_MAX_BODY_READ = 64 * 1024


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TCP to the checked address; TLS with the URL's host name for SNI and certificate verification."""

    def __init__(self, address: str, port: int, *, server_hostname: str, timeout: float, context: ssl.SSLContext):
        super().__init__(address, port, timeout=timeout, context=context)
        self._server_hostname = server_hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._server_hostname)


def _connection(checked: CheckedDestination, timeout: float, context: ssl.SSLContext | None):
    destination, address = checked.destination, checked.addresses[0]
    if destination.scheme == "https":
        context = context or ssl.create_default_context()  # verifies the certificate and the host name
        return _PinnedHTTPSConnection(
            address, destination.port, server_hostname=destination.host, timeout=timeout, context=context
        )
    return http.client.HTTPConnection(address, destination.port, timeout=timeout)


def post(
    checked: CheckedDestination,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    context: ssl.SSLContext | None = None,
) -> int:
    """POSTs the body and returns the status code; network and TLS failures raise OSError. ``context`` (the
    system's trust store by default) is for a private CA."""
    connection = _connection(checked, timeout, context)
    try:
        connection.request(
            "POST", checked.destination.path, body=body, headers={**headers, "Host": checked.destination.host_header}
        )
        response = connection.getresponse()
        response.read(_MAX_BODY_READ)
        return response.status
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP response: {type(exc).__name__}") from exc
    finally:
        connection.close()

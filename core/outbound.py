"""Where the service may send a request: the destination guard for webhooks and MLflow tracking servers.

Django-free and, apart from ``destination_check``'s name resolution, pure. A URL is parsed and normalised,
credentials in it are refused, and every address its host resolves to must be a public one: loopback,
link-local (cloud metadata at 169.254.169.254), private, shared, multicast, reserved and unspecified
addresses are refused, IPv6 forms that embed one of those (``::ffff:169.254.169.254``, ``::a.b.c.d``,
6to4, NAT64) too, and so are IPv4 spellings other than the dotted quad (``2130706433``, ``0177.0.0.1``,
``0x7f.1``), which resolvers read as addresses that a reader of the URL would not see. An operator opens a
network (a CIDR in ``allowed_networks``) for destinations inside it.

The caller connects to one of the addresses that were checked (``CheckedDestination.addresses``), never
to the name again, so a name that resolves differently a moment later (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class DestinationRefused(ValueError):
    """A destination the service will not send to; the message says why, for people."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # lower case, IDNA-encoded, no brackets around an IPv6 literal
    port: int
    path: str  # with its query, as it goes on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"


@dataclass(frozen=True)
class CheckedDestination:
    destination: Destination
    addresses: tuple[str, ...]  # every address the host resolved to, each one allowed


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The operator's allow-list; a malformed entry raises ValueError (settings turn it into a start-up error)."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def parse_destination(url: str, *, schemes: Iterable[str] = ("http", "https")) -> Destination:
    """The URL's parts, normalised; refuses other schemes, credentials, a missing host or a bad port."""
    if any(ord(ch) < 0x21 or ch == "\x7f" for ch in url):
        raise DestinationRefused("the URL contains spaces or control characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in tuple(schemes):
        raise DestinationRefused(f"the scheme must be one of {', '.join(schemes)}")
    if "@" in parts.netloc:
        raise DestinationRefused("credentials (user:password@) are not allowed in the URL")
    host = _normal_host(parts.hostname or "")
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError as exc:
        raise DestinationRefused("the port is not a number from 1 to 65535") from exc
    if not port:
        raise DestinationRefused("the URL names no port")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(scheme=scheme, host=host, port=port, path=path)


def _normal_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if not host:
        raise DestinationRefused("the URL names no host")
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError as exc:
            raise DestinationRefused("the host is not a valid IPv6 address") from exc
    _refuse_odd_ipv4(host)
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise DestinationRefused("the host is not a valid name") from exc


def _refuse_odd_ipv4(host: str) -> None:
    """inet_aton (what resolvers use) reads 2130706433, 0177.0.0.1 and 0x7f.1 as 127.0.0.1."""
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return
    if host != str(ipaddress.IPv4Address(packed)):
        raise DestinationRefused("the host is an IPv4 address not written as a dotted quad (a.b.c.d)")


def address_refusal(address: IPAddress, allowed: Iterable[Network] = ()) -> str | None:
    """Why the service will not connect to this address, or None when it may."""
    allowed = tuple(allowed)
    for candidate in _embedded(address):
        if any(candidate.version == net.version and candidate in net for net in allowed):
            return None
    for candidate in reversed(_embedded(address)):  # an embedded IPv4 address says more than its wrapper
        reason = _special_use(candidate)
        if reason:
            return reason if candidate == address else f"{reason} (inside the IPv6 address {address})"
    return None


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address itself and any IPv4 address an IPv6 address carries."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.append(address.teredo[1])
        if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _special_use(address: IPAddress) -> str | None:
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (cloud metadata lives there)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return f"{address} is {reason}"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def resolve(host: str, port: int, resolver: Resolver | None = None) -> tuple[str, ...]:
    """Every address the host resolves to, in the resolver's order, without repeats."""
    resolver = resolver or socket.getaddrinfo
    try:
        infos = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise DestinationRefused(f"the host {host} does not resolve") from exc
    addresses = dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos)
    if not addresses:
        raise DestinationRefused(f"the host {host} does not resolve")
    return tuple(addresses)


def destination_check(
    url: str,
    *,
    allowed_networks: Iterable[Network] = (),
    schemes: Iterable[str] = ("http", "https"),
    resolver: Resolver | None = None,
) -> CheckedDestination:
    """Parses, resolves and checks every address; raises DestinationRefused naming the first refused one."""
    destination = parse_destination(url, schemes=schemes)
    allowed = tuple(allowed_networks)
    addresses = resolve(destination.host, destination.port, resolver)
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError as exc:
            raise DestinationRefused(f"the host {destination.host} resolved to {text!r}") from exc
        reason = address_refusal(address, allowed)
        if reason:
            shown = "" if destination.host == text else f"{destination.host} resolves to {text}; "
            raise DestinationRefused(f"{shown}{reason}")
    return CheckedDestination(destination=destination, addresses=addresses)

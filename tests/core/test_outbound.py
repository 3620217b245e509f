"""The destination guard's pure parts: parsing, address classes, IPv4 spellings, the operator's networks."""

import ipaddress
import socket

import pytest

from core.outbound import DestinationRefused, address_refusal, destination_check, networks, parse_destination


def _resolver(*addresses):
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "127.0.0.1",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104  (an address under test, not a bind)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:169.254.169.254",
        "::ffff:127.0.0.1",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::",
    ],
)
def test_internal_addresses_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_a_mapped_address_names_the_ipv4_address_inside():
    reason = address_refusal(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert reason.startswith("169.254.169.254 is a link-local address")


def test_an_operator_network_opens_its_addresses_and_no_other():
    allowed = networks(["10.20.0.0/16", "127.0.0.1/32"])
    assert address_refusal(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert address_refusal(ipaddress.ip_address("::ffff:10.20.3.4"), allowed) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("10.21.0.1"), allowed) is not None
    assert address_refusal(ipaddress.ip_address("127.0.0.2"), allowed) is not None
    with pytest.raises(ValueError):
        networks(["10.0.0.0/33"])


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://allowed.example@127.0.0.1:31555/", "credentials"),
        ("http://user:pw@example.org/", "credentials"),
        ("http://:@example.org/", "credentials"),
        ("ftp://example.org/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http:///path", "no host"),
        ("http://example.org:99999/", "port"),
        ("http://2130706433/", "dotted quad"),
        ("http://0177.0.0.1/", "dotted quad"),
        ("http://0x7f.0.0.1/", "dotted quad"),
        ("http://127.1/", "dotted quad"),
        ("http://exa mple.org/", "spaces"),
    ],
)
def test_malformed_or_disguised_urls_are_refused(url, reason):
    with pytest.raises(DestinationRefused, match=reason):
        parse_destination(url)


def test_a_url_is_normalised():
    destination = parse_destination("HTTPS://Hooks.Example.ORG./in?x=1")
    assert (destination.scheme, destination.host, destination.port, destination.path) == (
        "https",
        "hooks.example.org",
        443,
        "/in?x=1",
    )
    assert destination.host_header == "hooks.example.org"
    assert parse_destination("http://[::FFFF:a9fe:a9fe]:8080").host_header == "[::ffff:a9fe:a9fe]:8080"


def test_every_resolved_address_must_pass():
    checked = destination_check("http://hooks.example.org/", resolver=_resolver("93.184.215.14"))
    assert checked.addresses == ("93.184.215.14",)
    with pytest.raises(DestinationRefused, match="resolves to 10.0.0.5"):
        destination_check("http://hooks.example.org/", resolver=_resolver("93.184.215.14", "10.0.0.5"))


def test_a_name_that_does_not_resolve_is_refused():
    def failing(*args, **kwargs):
        raise socket.gaierror("no such name")

    with pytest.raises(DestinationRefused, match="does not resolve"):
        destination_check("http://nowhere.invalid/", resolver=failing)

"""The pinned request: it goes to the checked address, keeps the name for Host, SNI and the certificate
check, and follows nothing."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.outbound import CheckedDestination, parse_destination
from core.outbound_http import post


def _certificate(tmp_path, name: str):
    """A self-signed certificate for `name`, as a private CA would issue one."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class _Handler(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802  (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        _Handler.seen.append(self.headers["Host"])
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(tmp_path):
    cert_file, key_file = _certificate(tmp_path, "hooks.test")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Handler.seen = []
    yield server.server_port, ssl.create_default_context(cafile=str(cert_file))
    server.shutdown()
    server.server_close()


def _checked(url: str) -> CheckedDestination:
    return CheckedDestination(destination=parse_destination(url), addresses=("127.0.0.1",))


def test_https_goes_to_the_checked_address_and_verifies_the_name(tls_server):
    port, trust = tls_server
    status = post(_checked(f"https://hooks.test:{port}/in"), b"{}", {}, timeout=5, context=trust)
    assert status == 302  # returned, not followed
    assert _Handler.seen == [f"hooks.test:{port}"]


def test_a_certificate_for_another_name_is_refused(tls_server):
    port, trust = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        post(_checked(f"https://other.test:{port}/in"), b"{}", {}, timeout=5, context=trust)
    assert _Handler.seen == []


def test_an_untrusted_certificate_is_refused_by_default(tls_server):
    port, _ = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        post(_checked(f"https://hooks.test:{port}/in"), b"{}", {}, timeout=5)

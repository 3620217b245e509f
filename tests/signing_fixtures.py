"""Keys, a certificate authority and models signed with the real model-signing library, for the tests of
signed models (key-based and certificate-based signing; both verify offline)."""

import datetime
from dataclasses import dataclass
from pathlib import Path

import model_signing
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@dataclass
class SigningKey:
    private: Path
    public_pem: str


def signing_key(folder: Path, name: str = "release") -> SigningKey:
    key = ec.generate_private_key(ec.SECP256R1())
    private = folder / f"{name}.key"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(private=private, public_pem=public.decode())


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Bank"), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(START + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(signing_key, hashes.SHA256())


@dataclass
class CertificateSigner:
    private: Path
    certificate: Path
    root: Path
    root_pem: str
    subject: str


def certificate_signer(folder: Path, common: str = "model-release-bot") -> CertificateSigner:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(
        _name("Example Bank Model Signing CA"),
        _name("Example Bank Model Signing CA"),
        root_key.public_key(),
        root_key,
        ca=True,
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(_name(common), root.subject, leaf_key.public_key(), root_key, ca=False)
    paths = {name: folder / f"{common}.{name}" for name in ("key", "crt", "root.crt")}
    paths["key"].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths["crt"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    root_pem = root.public_bytes(serialization.Encoding.PEM)
    paths["root.crt"].write_bytes(root_pem)
    return CertificateSigner(
        paths["key"], paths["crt"], paths["root.crt"], root_pem.decode(), leaf.subject.rfc4514_string()
    )


def sign_with_key(model: Path, key: SigningKey, signature: Path) -> bytes:
    model_signing.signing.Config().use_elliptic_key_signer(private_key=key.private).sign(model, signature)
    return signature.read_bytes()


def sign_with_certificate(model: Path, signer: CertificateSigner, signature: Path) -> bytes:
    config = model_signing.signing.Config().use_certificate_signer(
        private_key=signer.private, signing_certificate=signer.certificate, certificate_chain=[signer.root]
    )
    config.sign(model, signature)
    return signature.read_bytes()

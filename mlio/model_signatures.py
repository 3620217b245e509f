"""OpenSSF model-signing signatures verified over a model's files, offline; Django-free.

A signature is the Sigstore bundle the ``model-signing`` library writes (``model_signing.signing``): a DSSE
envelope around an in-toto statement whose predicate (``https://model_signing/signature/v1.0``) lists the
SHA-256 of every file of the model. Two of its ways of signing verify without any network: with a private key
(its public half trusted here) and with a certificate that chains to a trusted root. Keyless Sigstore
signing (a short-lived Fulcio certificate logged in Rekor) needs the public-good infrastructure to verify,
so it is refused here with that reason.

The model is a single file (the library names it "." in the manifest, whatever the file is called) or an
MLflow model folder; a zipped model is unpacked and its folder verified, so the signer signs the folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAX_BUNDLE_BYTES = 1 << 20
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle"
PREDICATE_TYPES = ("https://model_signing/signature/v1.0", "https://model_signing/Digests/v0.1")
KEY, ROOT = "key", "root"
CURVES = ("secp256r1", "secp384r1", "secp521r1")  # the curves model-signing signs with


class SignatureRefused(ValueError):
    """The signature is not one this service accepts, or does not verify; the message says why."""


@dataclass(frozen=True)
class TrustAnchor:
    """A team's trusted public key (kind "key") or certificate root (kind "root"), as PEM."""

    name: str
    kind: str
    pem: str


@dataclass(frozen=True)
class VerifiedSignature:
    method: str  # "key" or "certificate"
    signer: str  # the trusted key's name, or the signing certificate's subject
    signer_fingerprint: str  # SHA-256 of the public key (key) or of the signing certificate (certificate)
    anchor: str  # the name of the trust anchor it verified against
    predicate_type: str
    subject: str  # the model name the signer gave
    bundle_sha256: str

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _public_key(pem: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise SignatureRefused("the key is not a PEM public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in CURVES:
        raise SignatureRefused(f"model-signing signs with elliptic-curve keys ({', '.join(CURVES)}) only")
    return key


def key_fingerprint(pem: str) -> str:
    """What model-signing puts in a bundle as the key's hint: SHA-256 of the key's PEM SubjectPublicKeyInfo."""
    spki = _public_key(pem).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


def root_certificates(pem: str) -> list[x509.Certificate]:
    try:
        found = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise SignatureRefused("the root is not a PEM certificate") from exc
    if not found:
        raise SignatureRefused("the root holds no certificate")
    return found


def root_fingerprint(pem: str) -> str:
    return root_certificates(pem)[0].fingerprint(hashes.SHA256()).hex()


def anchor_fingerprint(kind: str, pem: str) -> str:
    """Checks a trust anchor's PEM and returns its fingerprint; SignatureRefused says what is wrong with it."""
    if kind == KEY:
        return key_fingerprint(pem)
    if kind == ROOT:
        return root_fingerprint(pem)
    raise SignatureRefused(f"a trust anchor is a {KEY} or a {ROOT}")


def _parse(bundle: bytes) -> dict:
    if len(bundle) > MAX_BUNDLE_BYTES:
        raise SignatureRefused(f"the signature is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        data = json.loads(bundle)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureRefused("the signature is not a Sigstore bundle (not JSON)") from exc
    if not isinstance(data, dict) or not str(data.get("mediaType", "")).startswith(BUNDLE_MEDIA_TYPE):
        raise SignatureRefused("the signature is not a Sigstore bundle (no bundle mediaType)")
    if not isinstance(data.get("dsseEnvelope"), dict) or not isinstance(data.get("verificationMaterial"), dict):
        raise SignatureRefused("the signature is not a model-signing bundle (no DSSE envelope)")
    return data


def _statement(data: dict) -> dict:
    try:
        statement = json.loads(base64.b64decode(data["dsseEnvelope"]["payload"]))
        predicate_type, subject = statement["predicateType"], statement["subject"][0]["name"]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SignatureRefused("the signed statement is not an in-toto statement") from exc
    if predicate_type not in PREDICATE_TYPES:
        raise SignatureRefused(f"the statement's predicate type {predicate_type!r} is not model-signing's")
    return {"predicate_type": predicate_type, "subject": str(subject)}


def _method(material: dict) -> str:
    if material.get("certificate") or material.get("tlogEntries"):
        raise SignatureRefused(
            "keyless Sigstore signatures need the public-good Sigstore infrastructure (Fulcio, Rekor) to verify "
            "and are not accepted; sign with a private key or a certificate"
        )
    if "publicKey" in material:
        return KEY
    if "x509CertificateChain" in material:
        return ROOT
    raise SignatureRefused("the bundle names neither a public key nor a certificate chain")


def _verify(config, model: Path, bundle: bytes) -> None:
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "model.sig"
        path.write_bytes(bundle)
        try:
            config.verify(model, path)
        except Exception as exc:  # the library raises ValueError, InvalidSignature, X509StoreContextError...
            raise SignatureRefused(_why(exc)) from exc


def _why(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("Signature mismatch"):  # each difference ends with the two digests as bytes: left out
        text = text.replace("\\'", "'")
        found = re.findall(r"Hash mismatch for '[^']*'|(?:Extra|Missing) files[^:]*: [^'\"\]]*", text)
        return "the model's files differ from those signed: " + "; ".join(found or [text[:300]])
    return f"the signature does not verify: {text[:300] or type(exc).__name__}"


def _pem_file(work: str, name: str, pem: str) -> Path:
    path = Path(work) / name
    path.write_text(pem)
    return path


def _by_key(model: Path, bundle: bytes, material: dict, anchors: list[TrustAnchor]) -> tuple[TrustAnchor, str]:
    from model_signing import verifying

    hint = (material.get("publicKey") or {}).get("hint", "")
    keys = [anchor for anchor in anchors if anchor.kind == KEY]
    if not keys:
        raise SignatureRefused("the model's team trusts no signing key")
    matching = [anchor for anchor in keys if key_fingerprint(anchor.pem) == hint] if hint else keys
    if not matching:
        raise SignatureRefused(f"signed with a key the model's team does not trust (key hint {hint[:16]})")
    problem = None
    for anchor in matching:
        with tempfile.TemporaryDirectory() as work:
            config = verifying.Config().use_elliptic_key_verifier(public_key=_pem_file(work, "key.pub", anchor.pem))
            try:
                _verify(config, model, bundle)
            except SignatureRefused as refused:
                problem = refused
                continue
        return anchor, key_fingerprint(anchor.pem)
    raise problem


def _signing_certificate(material: dict) -> x509.Certificate:
    try:
        first = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
        return x509.load_der_x509_certificate(base64.b64decode(first))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SignatureRefused("the bundle's certificate chain cannot be read") from exc


def _by_certificate(model: Path, bundle: bytes, material: dict, anchors: list[TrustAnchor]) -> tuple[TrustAnchor, str]:
    from model_signing import verifying

    roots = [anchor for anchor in anchors if anchor.kind == ROOT]
    if not roots:
        raise SignatureRefused("the model's team trusts no certificate root")
    leaf = _signing_certificate(material)
    problem = None
    for anchor in roots:
        with tempfile.TemporaryDirectory() as work:
            chain = _pem_file(work, "root.pem", anchor.pem)
            config = verifying.Config().use_certificate_verifier(certificate_chain=[chain])
            try:
                _verify(config, model, bundle)
            except SignatureRefused as refused:
                problem = refused
                continue
        return anchor, leaf.fingerprint(hashes.SHA256()).hex()
    raise problem


def signature_verify(model: Path, bundle: bytes, anchors: list[TrustAnchor]) -> VerifiedSignature:
    """Verifies the bundle over the model's files against the anchors; SignatureRefused says why not."""
    data = _parse(bundle)
    statement = _statement(data)
    material = data["verificationMaterial"]
    method = _method(material)
    if method == KEY:
        anchor, fingerprint = _by_key(model, bundle, material, anchors)
        signer, method_name = anchor.name, "key"
    else:
        anchor, fingerprint = _by_certificate(model, bundle, material, anchors)
        signer, method_name = _signing_certificate(material).subject.rfc4514_string(), "certificate"
    return VerifiedSignature(
        method=method_name,
        signer=signer,
        signer_fingerprint=fingerprint,
        anchor=anchor.name,
        bundle_sha256=hashlib.sha256(bundle).hexdigest(),
        **statement,
    )


def model_folder(artifact: Path, workdir: Path, *, max_unpacked_bytes: int | None) -> Path:
    """What a signature covers: the artifact file itself (a skops file is a zip, but one file), or the folder of
    a zipped MLflow model, unpacked."""
    import zipfile

    from mlio.artifacts.archives import extract_archive, mlflow_root

    if not zipfile.is_zipfile(artifact):
        return artifact
    with zipfile.ZipFile(artifact) as archive:
        root = mlflow_root(archive.namelist())
    if root is None:
        return artifact
    folder = extract_archive(artifact, workdir / "model", max_unpacked_bytes=max_unpacked_bytes)
    return folder / root if root else folder

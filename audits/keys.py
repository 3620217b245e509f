"""The checkpoint signing key, read from the file named by AUDIT_SIGNING_KEY_FILE."""

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audits.ledger.signing import generate_private_key_pem, load_private_key, load_public_key, public_key_pem


def _ensure_key_file() -> None:
    path = settings.AUDIT_SIGNING_KEY_FILE
    if path.exists():
        return
    if not settings.DEBUG:
        raise ImproperlyConfigured(
            f"Setting AUDIT_SIGNING_KEY_FILE: no key at {path}. Create one with "
            "`python manage.py create_signing_key` and keep a copy of its public key with your auditors."
        )
    write_new_key(path)


def write_new_key(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(generate_private_key_pem())


def signing_key():
    _ensure_key_file()
    try:
        return load_private_key(settings.AUDIT_SIGNING_KEY_FILE.read_bytes())
    except ValueError as exc:
        raise ImproperlyConfigured(f"Setting AUDIT_SIGNING_KEY_FILE: {exc}") from exc


def public_pem() -> bytes:
    return public_key_pem(signing_key())


def verification_keys() -> list:
    """The current key's public half, then those retired by a rotation (AUDIT_RETIRED_PUBLIC_KEY_FILES):
    checkpoints signed before a rotation keep verifying."""
    keys = [signing_key().public_key()]
    for path in settings.AUDIT_RETIRED_PUBLIC_KEY_FILES:
        try:
            keys.append(load_public_key(Path(path).read_bytes()))
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(f"Setting AUDIT_RETIRED_PUBLIC_KEY_FILES: {path}: {exc}") from exc
    return keys


def fingerprint(private_key) -> str:
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()

"""Secrets kept in the database encrypted (a webhook's secret header): Fernet, with a key from settings.

Django-free. The key is FIELD_ENCRYPTION_KEY when set (a Fernet key), otherwise derived from SECRET_KEY with
HKDF-SHA256, so a copy of the database alone reads nothing; rotating SECRET_KEY without setting
FIELD_ENCRYPTION_KEY to the old derived key makes stored secrets unreadable (they are set again).
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"verity field encryption v1"

__all__ = ["InvalidToken", "derived_key", "secret_box"]


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from the service's SECRET_KEY."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def secret_box(key: str | bytes | None, secret_key: str) -> Fernet:
    """The Fernet that encrypts and decrypts stored secrets; a malformed key raises ValueError."""
    return Fernet(key if key else derived_key(secret_key))

"""API token format: `vt_<prefix>_<secret>`; the prefix finds the row, the digest proves it."""

import hashlib
import secrets

TOKEN_PREFIX = "vt"  # noqa: S105  (a public marker, not a secret)


def new_token() -> tuple[str, str, str]:
    """Returns (token, prefix, digest); only prefix and digest are ever stored."""
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, token_digest(token)


def token_digest(token: str) -> str:
    # A fast hash is enough: the secret carries 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1]:
        return None
    return parts[1]

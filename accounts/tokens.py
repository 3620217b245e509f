"""API token format: `<marker>_<prefix>_<secret>`; the prefix finds the row, the digest proves it.

The marker says whose token it is, so authentication looks in one table only: `vt` for a service account,
`vtp` for a person (and secret scanners can tell the two apart)."""

import hashlib
import secrets

TOKEN_PREFIX = "vt"  # noqa: S105  (a public marker, not a secret)
PERSONAL_TOKEN_PREFIX = "vtp"  # noqa: S105


def new_token(marker: str = TOKEN_PREFIX) -> tuple[str, str, str]:
    """Returns (token, prefix, digest); only prefix and digest are ever stored."""
    prefix = secrets.token_hex(6)
    token = f"{marker}_{prefix}_{secrets.token_urlsafe(32)}"
    return token, prefix, token_digest(token)


def token_digest(token: str) -> str:
    # A fast hash is enough: the secret carries 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def token_marker(token: str) -> str:
    return token.split("_", 1)[0]


def token_prefix(token: str, marker: str = TOKEN_PREFIX) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != marker or not parts[1]:
        return None
    return parts[1]

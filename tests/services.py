"""Reachability of the real services the suite talks to (PostgreSQL, Redis).

Outside CI a test that needs a missing service skips; under CI=true it fails,
because CI promises those services and a skip would hide their absence.
"""

import os
import socket
from urllib.parse import urlparse

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def reachable(url: str, default_port: int, timeout: float = 1.0) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout):
            return True
    except OSError:
        return False


def require(condition: bool, why: str) -> None:
    if condition:
        return
    if under_ci():
        pytest.fail(f"{why} (CI=true: a missing service is a failure, not a skip)", pytrace=False)
    pytest.skip(why)


def main() -> int:
    """Exit 0 when the configured services answer; 3 when not (1 under CI)."""
    missing = [
        f"{name} at {url}"
        for name, url, port in (
            ("PostgreSQL", os.environ.get("DATABASE_URL", ""), 5432),
            ("Redis", os.environ.get("CELERY_BROKER_URL", ""), 6379),
        )
        if not url or not reachable(url, port)
    ]
    if not missing:
        return 0
    print("Not reachable: " + ", ".join(missing))
    return 1 if under_ci() else 3


if __name__ == "__main__":
    raise SystemExit(main())

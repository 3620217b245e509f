"""Which MLflow stores and artifact locations an import may open: URIs compared as parsed parts; Django-free.

A prefix test on the text lets ``http://allowed.example@127.0.0.1:31555`` through an allow-list entry
``http://allowed.example`` and ``sqlite:////allowed/../secret.db`` through ``sqlite:////allowed``. Here a URI
and each allowed entry are parsed into scheme, host, port and path; credentials (userinfo) are refused; paths
are compared on segment boundaries (``/data/mlflow`` does not admit ``/data/mlflow-old``); local paths (SQLite
databases, file stores, file artifacts) are resolved with realpath first, so ``..`` and symbolic links lead
nowhere the entry does not, and a database the service itself uses is never opened.

Artifacts are held to the same entries: a run's ``artifact_uri`` must lie inside an allowed entry (a local
one inside the folder of an allowed local store: the file store's directory, or the folder that holds an
allowed SQLite database), or be ``mlflow-artifacts:`` proxied through the allowed tracking server itself.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

_LOCAL = {"sqlite", "file"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Tracking URIs that MLflow treats as store names, not as locations: allowed only as listed, verbatim.
_NAMED_STORES = {"databricks", "databricks-uc", "uc"}


class UriRefused(ValueError):
    """A tracking or artifact URI outside what the operator allowed; the message says why, for people."""


@dataclass(frozen=True)
class Location:
    scheme: str
    host: str
    port: int | None
    path: str  # for local schemes: the resolved absolute path

    def within(self, other: Location) -> bool:
        """Same scheme, host and port, and a path equal to the other's or below it on a segment boundary."""
        if (self.scheme, self.host, self.port) != (other.scheme, other.host, other.port):
            return False
        base = other.path.rstrip("/")
        return self.path == other.path or self.path.startswith(base + "/") or base == ""


def location(uri: str) -> Location:
    """The parsed, normalised parts of a store or artifact URI; raises UriRefused."""
    text = uri.strip()
    if not text or any(ord(ch) < 0x20 for ch in text):
        raise UriRefused("the URI is empty or contains control characters")
    if text.startswith("/"):
        return Location("file", "", None, _real(text))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        return Location("sqlite", "", None, _real(_sqlite_database(text)))
    if "@" in parts.netloc:
        raise UriRefused("credentials (user:password@) are not allowed in the URI")
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or parts.query:
            raise UriRefused("a file URI names a local path only (file:///path)")
        return Location("file", "", None, _real(url2pathname(parts.path)))
    if not scheme or not parts.hostname:
        raise UriRefused("expected a URI such as sqlite:////srv/mlflow/mlflow.db or https://mlflow.example.org")
    return Location(scheme, parts.hostname.rstrip(".").lower(), _port(parts, scheme), _remote_path(parts.path))


def _sqlite_database(text: str) -> str:
    # SQLAlchemy's form: sqlite:///relative.db, sqlite:////absolute.db; nothing else is a database file here.
    if not text.lower().startswith("sqlite:///"):
        raise UriRefused("a SQLite URI names a database file: sqlite:////absolute/path.db")
    database = text[len("sqlite:///") :]
    if not database or "?" in database or "%" in database or database.startswith("file:"):
        raise UriRefused("a SQLite URI names a database file, without parameters or escapes")
    return database


def _real(path: str) -> str:
    if "\x00" in path:
        raise UriRefused("the path contains a NUL character")
    return os.path.realpath(path)


def _port(parts, scheme: str) -> int | None:
    try:
        return parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError as exc:
        raise UriRefused("the port is not a number from 1 to 65535") from exc


def _remote_path(path: str) -> str:
    decoded = unquote(path)
    if any(segment in (".", "..") for segment in decoded.split("/")) or "\\" in decoded:
        raise UriRefused("the path may not contain . or .. segments")
    return posixpath.normpath(path) if path else ""


def tracking_uri_check(uri: str, allowed: Iterable[str], *, forbidden_files: Iterable[str] = ()) -> Location | None:
    """The tracking URI's location when an allowed entry admits it (None for a named store listed verbatim);
    raises UriRefused otherwise, and for a database the service uses itself."""
    allowed = list(allowed)
    if uri.strip() in _NAMED_STORES:
        if uri.strip() in allowed:
            return None
        raise UriRefused("not among MLFLOW_ALLOWED_TRACKING_URIS on this service")
    place = location(uri)
    if place.scheme == "sqlite" and place.path in {_real(str(path)) for path in forbidden_files}:
        raise UriRefused("this is the service's own database")
    if not any(place.within(entry) for entry in _entries(allowed)):
        raise UriRefused("not among MLFLOW_ALLOWED_TRACKING_URIS on this service")
    return place


def artifact_uri_check(artifact_uri: str, tracking_uri: str, allowed: Iterable[str]) -> Location | None:
    """The artifact location when the allowed entries admit it (None when it is proxied by the tracking
    server itself); raises UriRefused otherwise."""
    parts = urlsplit(artifact_uri.strip())
    if parts.scheme.lower() == "mlflow-artifacts":
        tracking = urlsplit(tracking_uri.strip())
        if tracking.scheme.lower() in _DEFAULT_PORTS and parts.netloc in ("", tracking.netloc):
            return None
        raise UriRefused("mlflow-artifacts: is read only through the allowed tracking server itself")
    place = location(artifact_uri)
    entries = list(_entries(allowed))
    if place.scheme == "file":
        entries = [_folder(entry) for entry in entries if entry.scheme in _LOCAL]
    if not any(place.within(entry) for entry in entries):
        raise UriRefused("the artifacts lie outside MLFLOW_ALLOWED_TRACKING_URIS (and their local folders)")
    return place


def _entries(allowed: Iterable[str]) -> Iterable[Location]:
    for entry in allowed:
        if entry.strip() in _NAMED_STORES:
            continue
        try:
            yield location(entry)
        except UriRefused:
            continue  # an entry this parser cannot read admits nothing


def _folder(entry: Location) -> Location:
    # A SQLite store keeps its artifacts beside the database by default: the folder that holds an allowed
    # database file (or an allowed folder of databases itself) is what it admits.
    database_file = entry.scheme == "sqlite" and not os.path.isdir(entry.path)
    path = os.path.dirname(entry.path) if database_file else entry.path
    return Location("file", "", None, path)

"""Where an MLflow import may read: the operator's MLFLOW_ALLOWED_TRACKING_URIS compared as parsed parts
(mlio.mlflow.allowed), never the service's own database, http(s) hosts through the destination guard
(core.outbound), every artifact location held to the same rules, and MLflow's HTTP calls bounded in time.
"""

import contextlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connections

from core import outbound
from core.errors import DomainError
from mlio.mlflow.allowed import UriRefused, artifact_uri_check, tracking_uri_check

_HTTP = ("http", "https")
# How an MLflow failure reads in the service's error shape: an unreachable or silent server is a gateway timeout.
_STATUS = {"not_found": 404, "unreachable": 504, "forbidden_artifact": 403}


def _own_databases() -> list[str]:
    """The SQLite files this service keeps its own data in: an import never opens (or creates tables in) them."""
    return [
        str(connection.settings_dict["NAME"])
        for connection in connections.all(initialized_only=False)
        if connection.vendor == "sqlite" and connection.settings_dict.get("NAME")
    ]


def _guard_host(uri: str) -> None:
    outbound.destination_check(uri, allowed_networks=outbound.networks(settings.OUTBOUND_ALLOWED_NETWORKS))


def mlflow_store_allowed(tracking_uri: str) -> None:
    """Refuses (403) a tracking URI the operator did not allow, or one whose host is not a public address
    (unless OUTBOUND_ALLOWED_NETWORKS opens it)."""
    try:
        place = tracking_uri_check(
            tracking_uri, settings.MLFLOW_ALLOWED_TRACKING_URIS, forbidden_files=_own_databases()
        )
        if place is not None and place.scheme in _HTTP:
            _guard_host(tracking_uri)
    except (UriRefused, outbound.DestinationRefused) as exc:
        raise DomainError(
            "forbidden_source",
            f"tracking_uri: {exc}.",
            fields={"tracking_uri": [f"Not an allowed MLflow store: {exc}."]},
            status_code=403,
        ) from exc


def mlflow_artifact_allowed(tracking_uri: str):
    """The check import_model applies to every artifact URI it meets before reading there."""
    from mlio.mlflow import MlflowImportError

    def check(artifact_uri: str) -> None:
        try:
            place = artifact_uri_check(artifact_uri, tracking_uri, settings.MLFLOW_ALLOWED_TRACKING_URIS)
            if place is not None and place.scheme in _HTTP:
                _guard_host(artifact_uri)
        except (UriRefused, outbound.DestinationRefused) as exc:
            raise MlflowImportError("forbidden_artifact", f"the model's artifacts may not be read: {exc}") from exc

    return check


def mlflow_http_limits():
    """MLflow's HTTP calls bounded by the MLFLOW_HTTP_* settings."""
    from mlio.mlflow import http_limits

    return http_limits(
        timeout=settings.MLFLOW_HTTP_TIMEOUT,
        max_retries=settings.MLFLOW_HTTP_MAX_RETRIES,
        backoff_factor=settings.MLFLOW_HTTP_BACKOFF_FACTOR,
    )


@contextlib.contextmanager
def mlflow_calls() -> Iterator[None]:
    """MLflow calls made for a request: bounded in time, and their refusals in the service's shape: 404 for
    what the store does not hold, 504 for a server that cannot be reached in time, 403 for artifacts outside
    the allowed stores, 400 for the rest."""
    from mlio.mlflow import MlflowImportError

    try:
        with mlflow_http_limits():
            yield
    except MlflowImportError as exc:
        raise DomainError(
            f"mlflow_{exc.code}",
            f"source: {exc.message}",
            fields={"source": [exc.message]},
            status_code=_STATUS.get(exc.code, 400),
        ) from exc

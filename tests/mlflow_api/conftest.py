"""The real MLflow client, as its users run it, against this service on pytest-django's live server.

The tracking server is the real MLflow store of tests/mlio/mlflow (SQLite, file artifacts); the registry URI
is the live server, and MLflow's client sends MLFLOW_TRACKING_TOKEN as `Authorization: Bearer <token>`. The
server answers from other threads, so the test's rows are committed (transactional) and the rows the
migrations wrote (roles, approval policies) are restored after each flush (serialized rollback).
"""

import contextlib
from dataclasses import dataclass

import pytest

from accounts.services import service_account_create
from core import roles
from tests.mlio.mlflow.conftest import Store, global_mlflow_uri, make_store


@dataclass(frozen=True)
class Service:
    url: str
    store: Store
    client: object  # mlflow.MlflowClient: tracking on the store, registry on the service


@contextlib.contextmanager
def mlflow_pointed_at(*, tracking_uri: str, registry_uri: str, token: str):
    import mlflow

    with pytest.MonkeyPatch.context() as patch, global_mlflow_uri(tracking_uri):
        patch.setenv("MLFLOW_REGISTRY_URI", registry_uri)
        patch.setenv("MLFLOW_TRACKING_TOKEN", token)
        patch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a refusal is an answer, never retried
        mlflow.set_registry_uri(registry_uri)
        try:
            yield mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
        finally:
            mlflow.set_registry_uri(None)


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> Store:
    return make_store(tmp_path_factory)


@pytest.fixture
def mlflow_service(transactional_db, django_db_serialized_rollback, live_server, settings, mlflow_store, ci_account):
    """MLflow's process-wide URIs point at the store (tracking) and the service (registry), as a CI job sets
    them; the service pulls runs:/ and models:/ sources from the same store."""
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [mlflow_store.uri]
    settings.MLFLOW_API_TRACKING_URI = mlflow_store.uri
    with mlflow_pointed_at(tracking_uri=mlflow_store.uri, registry_uri=live_server.url, token=ci_account.token) as c:
        yield Service(live_server.url, mlflow_store, c)


@pytest.fixture
def auditor_token(db) -> str:
    _, token = service_account_create(name="audit-reader", role=roles.AUDITOR)
    return token

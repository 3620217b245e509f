"""The real MLflow client, as its users run it, against this service on pytest-django's live server.

The tracking server is the real MLflow store of tests/mlio/mlflow (SQLite, file artifacts); the registry URI
is the live server, and MLflow's client sends MLFLOW_TRACKING_TOKEN as `Authorization: Bearer <token>`. The
server answers from other threads, so the test's rows are committed (transactional) and the rows the
migrations wrote (roles, approval policies) are restored after each flush (serialized rollback).
"""

import contextlib
import gc
from dataclasses import dataclass

import pytest

from accounts.models import PersonalToken
from accounts.services import personal_token_issue
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
            _drop_http_sessions()


def _drop_http_sessions() -> None:
    """MLflow's client caches its HTTP sessions, whose kept-alive connections hold server threads open past
    the test; dropping them closes the connections now, while the server can still end its threads."""
    from mlflow.utils import request_utils

    request_utils._cached_get_request_session.cache_clear()
    gc.collect()


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory) -> Store:
    return make_store(tmp_path_factory)


@pytest.fixture
def mlflow_service(
    transactional_db,
    django_db_serialized_rollback,
    live_server,
    live_server_connections_closed,
    settings,
    mlflow_store,
    ci_account,
):
    """MLflow's process-wide URIs point at the store (tracking) and the service (registry), as a CI job sets
    them; the service pulls runs:/ and models:/ sources from the same store."""
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [mlflow_store.uri]
    settings.MLFLOW_API_TRACKING_URI = mlflow_store.uri
    with mlflow_pointed_at(tracking_uri=mlflow_store.uri, registry_uri=live_server.url, token=ci_account.token) as c:
        yield Service(live_server.url, mlflow_store, c)


@pytest.fixture
def officer_token(officer) -> str:
    """A token that may write what its holder may: what refuses a registration here is the officer's role."""
    _, token = personal_token_issue(user=officer, name="mlflow", expires_in_days=7, access=PersonalToken.Access.WRITE)
    return token


@pytest.fixture
def auditor_token(auditor) -> str:
    _, token = personal_token_issue(user=auditor, name="mlflow", expires_in_days=7, access=PersonalToken.Access.READ)
    return token


@pytest.fixture(scope="session")
def pickled_run(mlflow_store) -> str:
    """A run in the store whose model is pickled (cloudpickle), a format the service refuses by default."""
    import warnings

    import mlflow
    import sklearn
    from sklearn.linear_model import LogisticRegression

    frame = mlflow_store.features
    with (
        global_mlflow_uri(mlflow_store.uri),
        warnings.catch_warnings(action="ignore"),
        mlflow.start_run(experiment_id=mlflow_store.experiment_id) as run,
    ):
        model = LogisticRegression().fit(frame, mlflow_store.predictions)
        mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
        )
    return run.info.run_id

"""Where an import through the API may read: the SSRF and local-file URIs of a caller, the service's own
database, artifacts outside the allowed stores, and a tracking server that never answers (504, at once)."""

import shutil
import socket
import sqlite3

import pytest
from django.db import connection
from django.urls import reverse

from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

API = "/api/2.0/mlflow"


def _import(client, uri, source="models:/credit-risk/1"):
    client.post(reverse("v1:models"), {"name": "credit-risk", "risk_tier": "low"}, format="json")
    body = {"version": "2.0.0", "tracking_uri": uri, "source": source}
    return client.post(reverse("v1:model-version-import", args=["credit-risk"]), body, format="json")


@pytest.fixture
def silent_server():
    """A socket that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture
def fast_mlflow(settings):
    settings.MLFLOW_HTTP_TIMEOUT = 1
    settings.MLFLOW_HTTP_MAX_RETRIES = 0
    settings.MLFLOW_HTTP_BACKOFF_FACTOR = 0


@pytest.mark.parametrize(
    "uri, allowed",
    [
        ("http://allowed.example@127.0.0.1:31555", "http://allowed.example"),
        ("http://169.254.169.254/", "http://169.254.169.254"),
        ("http://[::ffff:169.254.169.254]/", "http://[::ffff:169.254.169.254]"),
        ("http://10.0.0.5:6379", "http://10.0.0.5:6379"),
        ("http://localhost:5432", "http://localhost:5432"),
    ],
)
def test_internal_tracking_servers_are_refused_even_when_listed(ci_client, settings, uri, allowed):
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [allowed]
    response = _import(ci_client, uri)
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "forbidden_source"
    assert "tracking_uri" in response.json()["error"]["fields"]


def test_a_sqlite_path_out_of_the_allowed_folder_is_refused_and_creates_nothing(ci_client, settings, tmp_path):
    (tmp_path / "allowed").mkdir()
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [f"sqlite:///{tmp_path}/allowed"]
    response = _import(ci_client, f"sqlite:///{tmp_path}/allowed/../secret.db")
    assert response.status_code == 403
    assert not (tmp_path / "secret.db").exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default keeps its data in SQLite")
def test_the_services_own_database_is_never_opened(ci_client, settings, tmp_path, monkeypatch):
    own = tmp_path / "governance.sqlite3"
    sqlite3.connect(own).close()
    monkeypatch.setitem(connection.settings_dict, "NAME", str(own))  # as on the embedded default, under var/
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [f"sqlite:///{tmp_path}"]
    response = _import(ci_client, f"sqlite:///{own}")
    assert response.status_code == 403
    assert "own database" in response.json()["error"]["message"]
    with sqlite3.connect(own) as database:
        assert database.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_artifacts_outside_the_allowed_stores_are_not_read(ci_client, settings, mlflow_store, tmp_path):
    # The same database in another folder: its runs' artifacts still lie in the original store's folder.
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(mlflow_store.root / "mlflow.db", moved / "mlflow.db")
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [f"sqlite:///{moved}/mlflow.db"]
    response = _import(ci_client, f"sqlite:///{moved}/mlflow.db")
    assert response.status_code == 403, response.json()
    assert response.json()["error"]["code"] == "mlflow_forbidden_artifact"
    assert not ModelVersion.objects.exists()


@pytest.mark.parametrize("closed", [True, False])
def test_an_unreachable_tracking_server_is_a_504_in_the_error_shape(
    ci_client, settings, silent_server, fast_mlflow, closed
):
    uri = "http://127.0.0.1:1" if closed else silent_server
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [uri]
    response = _import(ci_client, uri)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "mlflow_unreachable"
    assert "source" in response.json()["error"]["fields"]


def test_an_unreachable_tracking_server_is_a_504_in_mlflows_shape(ci_client, settings, silent_server, fast_mlflow):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [silent_server]
    settings.MLFLOW_API_TRACKING_URI = silent_server
    ci_client.post(f"{API}/registered-models/create", {"name": "credit-risk"}, format="json")
    body = {"name": "credit-risk", "source": "models:/credit-risk/1"}
    response = ci_client.post(f"{API}/model-versions/create", body, format="json")
    assert response.status_code == 504
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert not ModelVersion.objects.exists()


def test_an_mlflow_api_tracking_server_on_an_internal_address_is_refused(ci_client, settings):
    settings.MLFLOW_ALLOWED_TRACKING_URIS = ["http://169.254.169.254"]
    settings.MLFLOW_API_TRACKING_URI = "http://169.254.169.254"
    ci_client.post(f"{API}/registered-models/create", {"name": "credit-risk"}, format="json")
    body = {"name": "credit-risk", "source": "models:/credit-risk/1"}
    response = ci_client.post(f"{API}/model-versions/create", body, format="json")
    assert response.status_code == 403
    assert response.json()["error_code"] == "PERMISSION_DENIED"


def test_importing_is_forbidden_to_roles_that_do_not_register(client_as, auditor, officer, settings, tmp_path):
    settings.MLFLOW_ALLOWED_TRACKING_URIS = [f"sqlite:///{tmp_path}"]
    for persona in (auditor, officer):
        response = _import(client_as(persona), f"sqlite:///{tmp_path}/mlflow.db")
        assert response.status_code == 403
        assert response.json()["error"]["code"] != "forbidden_source"

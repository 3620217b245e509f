"""A database outage answers 503 with Retry-After, in the error shape under /api/ and as a page elsewhere."""

import socket

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.urls import path

from governance import urls as project_urls

UNAVAILABLE = {
    "error": {
        "code": "database_unavailable",
        "message": "The database is unavailable just now; try again shortly.",
        "fields": {},
    }
}


def _remembers(request):
    request.session["seen"] = True
    return HttpResponse("remembered")


urlpatterns = [path("remembers/", _remembers), *project_urls.urlpatterns]
handler500 = project_urls.handler500
with_session_view = pytest.mark.urls(__name__)


@pytest.fixture
def database_down(db, settings):
    """Every new cursor fails as a lost connection does: the driver's own OperationalError, which Django wraps.
    Undone before the test's transaction is rolled back (this fixture comes after `db`)."""
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 17
    patch = pytest.MonkeyPatch()

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("connection to server failed: Connection refused")

    yield lambda: patch.setattr(connection, "create_cursor", refuse)
    patch.undo()


def _page(response) -> str:
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_an_api_call_answers_503_with_retry_after_in_the_error_shape(client_as, officer, database_down):
    client = client_as(officer)
    database_down()
    response = client.get("/api/v1/models/")
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert response.json() == UNAVAILABLE


def test_token_authentication_during_an_outage_answers_503_not_401(ci_client, database_down):
    database_down()
    response = ci_client.get("/api/v1/me/")
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


def test_the_mlflow_api_answers_503_in_its_own_shape(client_as, officer, database_down):
    client = client_as(officer)
    database_down()
    response = client.get("/api/2.0/mlflow/registered-models/search")
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"


def test_an_admin_page_answers_503_with_retry_after_as_a_page(client, officer, database_down):
    client.force_login(officer)
    database_down()
    response = client.get("/admin/")
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert "Service unavailable (503)" in _page(response)


@with_session_view
def test_a_database_error_outside_a_view_still_answers_503(client, monkeypatch, settings):
    # The session is saved by a middleware, after the view returned: Django's handler500 receives that error.
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 17

    def save(self, must_create=False):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SessionStore, "save", save)
    client.raise_request_exception = False  # Django signals the error as it would a 500, and answers 503
    response = client.get("/remembers/")
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert "Service unavailable (503)" in _page(response)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_refused_postgresql_connection_answers_503(client, officer):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    client.force_login(officer)
    real_host, real_port = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    try:
        api = client.get("/api/v1/models/")
        page = client.get("/admin/")
    finally:
        connection.close()
        connection.settings_dict.update(HOST=real_host, PORT=real_port)
    assert api.status_code == 503
    assert api.json() == UNAVAILABLE
    assert int(api["Retry-After"]) > 0
    assert page.status_code == 503
    assert "Service unavailable (503)" in _page(page)

"""The landing page, and errors: pages for people in the admin's look, the JSON error shape under /api/."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from governance import urls as project_urls
from tests.factories import UserFactory

API_404 = {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def _fails(request):
    raise RuntimeError("a bug in a view")


def _refuses(request):
    raise PermissionDenied


# The project's URLs and error handlers, plus views that fail, for the tests marked with this module's urls.
urlpatterns = [
    path("admin/fails/", _fails),
    path("api/v1/fails/", _fails),
    path("api/v1/refuses/", _refuses),
    *project_urls.urlpatterns,
]
handler400, handler403 = project_urls.handler400, project_urls.handler403
handler404, handler500 = project_urls.handler404, project_urls.handler500
with_failing_views = pytest.mark.urls(__name__)


def _hrefs(response) -> list[str]:
    return re.findall(r'href="([^"]+)"', response.content.decode())


def _is_page(response) -> bool:
    return response["Content-Type"].startswith("text/html") and b"admin/css/base.css" in response.content


@pytest.mark.django_db
def test_the_landing_page_links_the_admin_the_api_docs_the_schema_and_health(client, django_assert_num_queries):
    with django_assert_num_queries(0):  # it shows no data, and needs no session
        response = client.get("/")
    assert response.status_code == 200
    assert _is_page(response)
    assert {"/admin/", "/api/docs/", "/api/schema/", "/healthz"} <= set(_hrefs(response))
    assert "Compliance audits for machine-learning models" in response.content.decode()


def test_an_unknown_admin_page_is_a_page_with_the_way_back_to_the_admin(client, officer):
    client.force_login(officer)
    response = client.get("/admin/no-such-page/")
    assert response.status_code == 404
    assert _is_page(response)
    text = response.content.decode()
    assert "Page not found (404)" in text
    assert "<code>/admin/no-such-page/</code>" in text
    assert re.search(r'<a href="/admin/">Back to the admin</a>', text)


@pytest.mark.django_db
def test_an_unknown_page_outside_the_api_is_a_page_too(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert _is_page(response)
    assert "/admin/" in _hrefs(response)


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["/api/v1/no-such-thing/", "/api/no-such-thing"])
def test_an_unknown_api_address_keeps_the_json_error_shape(client, address):
    response = client.get(address)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == API_404


def test_an_admin_page_the_account_may_not_open_is_a_forbidden_page(client, db):
    client.force_login(UserFactory(username="staff-without-role", is_staff=True))
    response = client.get("/admin/auth/user/")
    assert response.status_code == 403
    assert _is_page(response)
    assert "Forbidden (403)" in response.content.decode()
    assert "/admin/" in _hrefs(response)


@pytest.mark.django_db
@with_failing_views
def test_a_refusal_under_the_api_keeps_the_json_error_shape(client):
    response = client.get("/api/v1/refuses/")
    assert response.status_code == 403
    assert response.json() == {"error": {"code": "permission_denied", "message": "Forbidden.", "fields": {}}}


@pytest.mark.django_db
@with_failing_views
def test_a_failing_admin_page_shows_a_server_error_page_with_the_request_id(client):
    client.raise_request_exception = False
    response = client.get("/admin/fails/", HTTP_X_REQUEST_ID="trace-500")
    assert response.status_code == 500
    assert _is_page(response)
    text = response.content.decode()
    assert "Server error (500)" in text
    assert "<code>trace-500</code>" in text
    assert "a bug in a view" not in text
    assert "/admin/" in _hrefs(response)


@pytest.mark.django_db
@with_failing_views
def test_a_failing_api_view_keeps_the_json_error_shape(client):
    client.raise_request_exception = False
    response = client.get("/api/v1/fails/")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error", "message": "Internal server error.", "fields": {}}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "json_body"),
    [("/admin/", None), ("/api/v1/me/", {"error": {"code": "bad_request", "message": "Bad request.", "fields": {}}})],
)
def test_a_request_for_an_unknown_host_is_refused_in_the_shape_of_its_address(client, address, json_body):
    response = client.get(address, HTTP_HOST="intruder.example")
    assert response.status_code == 400
    if json_body is None:
        assert _is_page(response)
        assert "Bad request (400)" in response.content.decode()
    else:
        assert response.json() == json_body

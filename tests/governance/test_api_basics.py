import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts.services import service_account_create
from core import roles


@pytest.mark.django_db
def test_the_roles_exist_as_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)


def test_validation_errors_name_the_field(client_as, admin_user):
    response = client_as(admin_user).post(reverse("v1:service-accounts"), {"role": "ci"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {
        "code": "invalid",
        "message": "name: This field is required.",
        "fields": {"name": ["This field is required."]},
    }


def test_unknown_api_paths_answer_in_the_error_shape(client_as, admin_user):
    response = client_as(admin_user).post(reverse("v1:service-account-revoke", args=["ghost"]))
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


@pytest.mark.django_db
def test_unrouted_paths_answer_json(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_request_id_is_generated_when_absent(anon_client):
    response = anon_client.get(reverse("v1:me"))
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.mark.django_db
def test_a_given_request_id_is_echoed(anon_client):
    response = anon_client.get(reverse("v1:me"), HTTP_X_REQUEST_ID="build-1234.step:7")
    assert response["X-Request-ID"] == "build-1234.step:7"


@pytest.mark.django_db
def test_an_unsafe_request_id_is_replaced(anon_client):
    response = anon_client.get(reverse("v1:me"), HTTP_X_REQUEST_ID="<script>")
    assert response["X-Request-ID"] != "<script>"


def test_listings_are_paginated(client_as, admin_user):
    for index in range(3):
        service_account_create(name=f"ci-{index}")
    response = client_as(admin_user).get(reverse("v1:service-accounts"), {"page_size": 2})
    body = response.json()
    assert body["count"] == 3
    assert [a["name"] for a in body["results"]] == ["ci-0", "ci-1"]
    assert body["next"].endswith("page=2&page_size=2")


def test_the_openapi_schema_generates_without_warnings(tmp_path, db):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    text = out.read_text()
    assert "/api/v1/me/" in text
    assert "apiToken" in text


def test_swagger_ui_is_served_to_a_signed_in_user(client_as, auditor):
    response = client_as(auditor).get(reverse("swagger-ui"))
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_the_admin_carries_the_product_name(client, db):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Verity" in response.content

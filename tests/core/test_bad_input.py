"""Hostile input answers a 4xx in the one error shape (MLflow's on the MLflow API), never a 500, and writes
nothing: huge policy numbers, NUL in paths, keys and values, JSON nested past any reason, datetimes at the
edge of the calendar, version numbers past 64 bits."""

import json

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from registry.models import ApprovalPolicy, ApprovalRequest
from tests.registry_fixtures import decide, register_version, request_approval

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


def _refused(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    return error


def _mlflow_refused(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error_code", "message"}
    return body


# -- policy numbers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"approvals_required": 10**12},
        {"officer_approvals_required": 10**12},
        {"validity_days": 10**9},
        {"validity_days": 999_999_999},
        {"evidence_max_age_days": 10**9},
    ],
)
def test_a_policy_number_past_its_range_is_refused_and_leaves_no_event(client_as, admin_user, change):
    before = AuditEvent.objects.count()
    stored = ApprovalPolicy.objects.get(risk_tier="medium")
    response = client_as(admin_user).patch(reverse("v1:policy", args=["medium"]), change, format="json")
    error = _refused(response)
    assert set(error["fields"]) == set(change)
    assert AuditEvent.objects.count() == before
    fresh = ApprovalPolicy.objects.get(risk_tier="medium")
    assert all(getattr(fresh, name) == getattr(stored, name) for name in change)


def test_the_largest_policy_numbers_allowed_still_approve_and_list(
    registered, ci_client, client_as, admin_user, officer, officer2, no_evidence_policy
):
    change = {"validity_days": 3650, "evidence_max_age_days": 3650}
    assert client_as(admin_user).patch(reverse("v1:policy", args=["medium"]), change, format="json").status_code == 200
    request_id = request_approval(ci_client).json()["id"]
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201
    assert client_as(officer).get(reverse("v1:approval-requests")).status_code == 200


def test_a_stored_snapshot_with_absurd_numbers_never_breaks_a_read_or_a_decision(
    registered, ci_client, client_as, officer, officer2, no_evidence_policy
):
    """A snapshot written before the bounds (or by hand) holds numbers no date arithmetic survives."""
    request_id = request_approval(ci_client).json()["id"]
    request = ApprovalRequest.objects.get(pk=request_id)
    request.policy = {**request.policy, "validity_days": 10**12, "evidence_max_age_days": 10**12}
    request.save(update_fields=["policy"])
    assert client_as(officer).get(reverse("v1:approval-requests")).status_code == 200
    assert client_as(officer).get(reverse("v1:approval-request", args=[request_id])).status_code == 200
    assert decide(client_as(officer), request_id).status_code == 201
    assert decide(client_as(officer2), request_id).status_code == 201
    approved = ApprovalRequest.objects.get(pk=request_id)
    assert approved.status == "approved" and approved.expires_at.year < 10_000
    assert client_as(officer).get(reverse("v1:approval-requests")).status_code == 200


# -- NUL and other characters no database stores ---------------------------------------------------------------

VERSION_PATHS = [
    ("v1:model-version", "get"),
    ("v1:model-version", "patch"),
    ("v1:stage-change", "post"),
    ("v1:deployments", "post"),
    ("v1:gate", "get"),
    ("v1:monitoring-windows", "get"),
    ("v1:approval-request-submit", "post"),
    ("v1:waivers", "get"),
    ("v1:checklists", "get"),
    ("v1:attestations", "post"),
    ("v1:evidence-request", "post"),
    ("v1:attestations", "get"),
]


@pytest.mark.parametrize(("name", "method"), VERSION_PATHS)
def test_nul_as_a_version_path_segment_is_refused(registered, ci_client, name, method):
    url = reverse(name, args=["credit-scoring", "1.0.0"]).replace("/1.0.0/", "/%00/")
    _refused(getattr(ci_client, method)(url, {}, format="json"))


@pytest.mark.parametrize("query", ["?action=%00", "?since=%00", "?actor=a%00b"])
def test_nul_in_a_query_string_is_refused(client_as, auditor, query):
    _refused(client_as(auditor).get(reverse("v1:audit-events") + query))


def test_nul_in_a_tag_key_or_value_is_refused_and_nothing_is_written(registered, ci_client):
    url = reverse("v1:model-version", args=["credit-scoring", "1.0.0"])
    before = AuditEvent.objects.count()
    for tags in ({"team\u0000": "risk"}, {"team": "ri\u0000sk"}, {"team": "\ud800"}):
        _refused(ci_client.patch(url, json.dumps({"tags": tags}), content_type="application/json"))
    assert AuditEvent.objects.count() == before


def test_nul_in_a_metadata_key_of_a_multipart_upload_is_refused(registered, ci_client, model_bytes):
    response = register_version(ci_client, model_bytes, version="1.0.1", lineage={"pipe\u0000line": "x"})
    _refused(response)


def test_numbers_json_cannot_carry_are_refused(registered, ci_client):
    url = reverse("v1:model-version", args=["credit-scoring", "1.0.0"])
    _refused(ci_client.patch(url, '{"tags": {"a": 1e999}}', content_type="application/json"))


# -- deep JSON -------------------------------------------------------------------------------------------------


def test_deep_json_is_refused_on_the_native_api(registered, ci_client):
    url = reverse("v1:model-version", args=["credit-scoring", "1.0.0"])
    _refused(ci_client.patch(url, '{"tags": ' + DEEP + "}", content_type="application/json"))


def test_json_nested_past_the_limit_but_short_of_a_recursion_error_is_refused(registered, ci_client):
    url = reverse("v1:model-version", args=["credit-scoring", "1.0.0"])
    nested = "[" * 500 + "]" * 500
    error = _refused(ci_client.patch(url, '{"tags": {"a": ' + nested + "}}", content_type="application/json"))
    assert "deep" in error["message"]


def test_deep_json_is_refused_in_multipart_metadata(registered, ci_client, model_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("model.skops", model_bytes)
    url = reverse("v1:model-versions", args=["credit-scoring"])
    _refused(ci_client.post(url, {"artifact": upload, "metadata": DEEP}, format="multipart"))


def test_deep_json_is_refused_on_the_mlflow_api(ci_client):
    response = ci_client.post("/api/2.0/mlflow/registered-models/create", DEEP, content_type="application/json")
    _mlflow_refused(response)


def test_a_json_body_past_the_size_limit_is_refused(ci_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"name": "m", "description": "x" * 4096})
    error = _refused(ci_client.post(reverse("v1:models"), body, content_type="application/json"), status=413)
    assert error["code"] == "too_large"


# -- datetimes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "?since=0001-01-01T00:00:00%2B23:59:59",
        "?until=9999-12-31T23:59:59-23:59:59",
        "?since=2026-01-01T00:00:00%2B23:59:59",
        "?since=0001-01-01T00:00:00Z",
    ],
)
def test_list_filters_refuse_datetimes_outside_a_sane_range(client_as, auditor, query):
    error = _refused(client_as(auditor).get(reverse("v1:audit-events") + query))
    assert set(error["fields"]) <= {"since", "until"} and error["fields"]


def test_a_window_starting_in_year_one_is_refused(registered, ci_client, applicants):
    from tests.registry_fixtures import csv_upload

    url = reverse("v1:monitoring-windows", args=["credit-scoring", "1.0.0"])
    body = {
        "file": csv_upload(applicants.head(50)),
        "window_start": "0001-01-01T00:00:00Z",
        "window_end": "2026-11-08T00:00:00Z",
    }
    error = _refused(ci_client.post(url, body, format="multipart"))
    assert "window_start" in error["fields"]


def test_a_window_with_an_offset_no_database_takes_is_refused(registered, ci_client, applicants):
    from tests.registry_fixtures import csv_upload

    url = reverse("v1:monitoring-windows", args=["credit-scoring", "1.0.0"])
    body = {
        "file": csv_upload(applicants.head(50)),
        "window_start": "2026-11-01T00:00:00+23:59:59",
        "window_end": "2026-11-08T00:00:00Z",
    }
    error = _refused(ci_client.post(url, body, format="multipart"))
    assert "window_start" in error["fields"]


# -- MLflow version numbers ------------------------------------------------------------------------------------

HUGE = str(2**64 + 1)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "model-versions/get", {"name": "credit-scoring", "version": HUGE}),
        ("get", "model-versions/get-download-uri", {"name": "credit-scoring", "version": HUGE}),
        ("patch", "model-versions/update", {"name": "credit-scoring", "version": HUGE, "description": "x"}),
        ("post", "registered-models/alias", {"name": "credit-scoring", "version": HUGE, "alias": "champion"}),
        ("post", "model-versions/transition-stage", {"name": "credit-scoring", "version": HUGE, "stage": "Staging"}),
        ("get", "model-versions/get", {"name": "credit-scoring", "version": "\u00b2"}),
    ],
)
def test_mlflow_version_numbers_past_64_bits_do_not_exist(
    registered, ci_client, client_as, admin_user, method, path, body
):
    client = client_as(admin_user)
    url = f"/api/2.0/mlflow/{path}"
    response = client.get(url, body) if method == "get" else getattr(client, method)(url, body, format="json")
    _mlflow_refused(response, status=404)

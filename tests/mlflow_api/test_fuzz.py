"""MLflow's registry paths are not in the OpenAPI schema, so hypothesis draws their requests: each
operation with its own fields (and a stray one now and then), values of every JSON kind (text with NUL and
lone surrogates, integers past 64 bits, deep lists). No answer is a 5xx; every refusal is in MLflow's shape."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

OPERATIONS = [
    ("get", "registered-models/get", ("name",)),
    ("get", "registered-models/search", ("filter", "max_results", "page_token", "order_by")),
    ("post", "registered-models/create", ("name", "tags", "description")),
    ("patch", "registered-models/update", ("name", "description")),
    ("post", "registered-models/set-tag", ("name", "key", "value")),
    ("delete", "registered-models/delete-tag", ("name", "key")),
    ("post", "registered-models/get-latest-versions", ("name", "stages")),
    ("post", "registered-models/alias", ("name", "alias", "version")),
    ("get", "registered-models/alias", ("name", "alias")),
    ("delete", "registered-models/alias", ("name", "alias")),
    ("post", "model-versions/create", ("name", "source", "run_id", "tags", "description", "model_id")),
    ("get", "model-versions/get", ("name", "version")),
    ("get", "model-versions/search", ("filter", "max_results", "page_token")),
    ("patch", "model-versions/update", ("name", "version", "description")),
    ("post", "model-versions/set-tag", ("name", "version", "key", "value")),
    ("delete", "model-versions/delete-tag", ("name", "version", "key")),
    ("post", "model-versions/transition-stage", ("name", "version", "stage", "archive_existing_versions")),
    ("get", "model-versions/get-download-uri", ("name", "version")),
]
NAMES = st.sampled_from(["credit-scoring", "Credit-Scoring", "credit-scoring\x00", "", "a" * 300])
VERSIONS = st.sampled_from(["1", "1.0.0", "0", "-1", str(2**63), str(2**64 + 1), "²", "1e3", "١"])
TEXT = st.text(max_size=40) | st.sampled_from(["\x00", "a\x00b", "\ud800", "name = 'x'", "version_number > 1"])
SCALARS = TEXT | st.integers() | st.integers(min_value=2**63) | st.floats() | st.booleans() | st.none()
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3)
)
FIELD_VALUES = {"name": NAMES | TEXT, "version": VERSIONS | TEXT}


@st.composite
def calls(draw):
    method, path, fields = draw(st.sampled_from(OPERATIONS))
    body = {}
    for field in fields:
        if draw(st.booleans()) or field in ("name", "version"):
            body[field] = draw(FIELD_VALUES.get(field, st.nothing()) | JSON_VALUES)
    if draw(st.integers(0, 9)) == 0:
        body[draw(TEXT)] = draw(JSON_VALUES)
    return method, path, body


def _query(body: dict) -> dict:
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in body.items()}


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(call=calls())
def test_the_mlflow_api_never_answers_a_server_error(registered, client_as, admin_user, call):
    method, path, body = call
    client = client_as(admin_user)
    url = f"/api/2.0/mlflow/{path}"
    if method == "get":
        response = client.get(url, _query(body))
    else:
        payload = json.dumps(body, allow_nan=True)
        response = getattr(client, method)(url, payload, content_type="application/json")
    assert response.status_code < 500, (method, path, body, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"error_code", "message"}, response.content[:300]

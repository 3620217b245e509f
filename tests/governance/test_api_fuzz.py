"""Property-based requests over the whole OpenAPI schema (schemathesis) and MLflow's paths (hypothesis): no
answer is a 5xx, and every status code is one the schema documents."""

import json

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from accounts.models import PersonalToken
from accounts.services import personal_token_issue
from tests.factories import team

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]


@pytest.fixture
def superuser_token(db):
    # No password: hashing one costs more than a whole operation's requests, in every one of these tests.
    user = get_user_model().objects.create_superuser("fuzz-root", "fuzz@example.org", None)
    user.groups.add(team())  # one team, so that what it registers has an owner without naming one
    _, token = personal_token_issue(user=user, name="fuzz", expires_in_days=1, access=PersonalToken.Access.WRITE)
    return token


# Bounded and seeded: valid and invalid inputs (NUL included) for every operation, the same ones on every
# run. Schemathesis' coverage phase, unbounded by max_examples, is left out to keep the suite's time.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 19,
        "phases": {"coverage": {"enabled": False}},
        "generation": {"mode": "all", "max-examples": 8, "deterministic": True, "database": "none"},
    }
)


def _api_schema():
    """The schema /api/schema/ serves, generated in-process (no row is needed to describe the API)."""
    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(public=True)))
    loaded = schemathesis.openapi.from_dict(document, config=CONFIG)
    loaded.app = get_wsgi_application()
    return loaded


schema = _api_schema()


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_a_server_error(case, superuser_token):
    response = case.call(headers={"Authorization": f"Bearer {superuser_token}"})
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])


def test_the_schema_says_what_the_api_answers_for_a_model_without_a_rollback_target(client_as, admin_user):
    """A model with no previous production version has no rollback target: the answer holds null, and the
    schema must allow it (a client generated from the schema would otherwise fail on every new model)."""
    field = schema.raw_schema["components"]["schemas"]["ModelOutput"]["properties"]["rollback_target"]
    assert field.get("nullable") is True
    body = {"name": "new-model", "risk_tier": "low", "frameworks": [], "data_classification": [], "team": team().name}
    created = client_as(admin_user).post("/api/v1/models/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["rollback_target"] is None

"""The MLflow API keeps the same team boundary as the native one: another team's CI account or data scientist
is refused in MLflow's shape (PERMISSION_DENIED, 403) on every write; the model's team is not. Reproduced on
the previous release: another team's account set MLflow tags on a model and rewrote its description."""

import pytest
from django.test import override_settings

from registry.models import ModelAlias, ModelVersion, RegisteredModel
from tests.factories import OTHER_TEAM, PERSONA_TEAM

pytestmark = pytest.mark.django_db

API = "/api/2.0/mlflow"
NAME = "credit-scoring"
WRITES = [
    ("patch", "registered-models/update", {"name": NAME, "description": "rewritten"}),
    ("post", "registered-models/set-tag", {"name": NAME, "key": "owner", "value": "me"}),
    ("delete", "registered-models/delete-tag", {"name": NAME, "key": "owner"}),
    ("post", "registered-models/alias", {"name": NAME, "alias": "challenger", "version": "1"}),
    ("delete", "registered-models/alias", {"name": NAME, "alias": "challenger"}),
    ("patch", "model-versions/update", {"name": NAME, "version": "1", "description": "rewritten"}),
    ("post", "model-versions/set-tag", {"name": NAME, "version": "1", "key": "owner", "value": "me"}),
    ("delete", "model-versions/delete-tag", {"name": NAME, "version": "1", "key": "owner"}),
    ("post", "model-versions/transition-stage", {"name": NAME, "version": "1", "stage": "Archived"}),
    ("post", "model-versions/create", {"name": NAME, "source": "models:/credit/1"}),
]


def _call(client, method: str, path: str, body: dict):
    return getattr(client, method)(f"{API}/{path}", body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
@override_settings(MLFLOW_API_TRACKING_URI="sqlite:////nowhere/mlflow.db")
def test_another_teams_account_is_refused_in_mlflows_shape(registered, other_team_ci_client, method, path, body):
    before = (RegisteredModel.objects.get(name=NAME).description, ModelVersion.objects.get().stage)
    response = _call(other_team_ci_client, method, path, body)
    assert response.status_code == 403, response.content
    assert response.json()["error_code"] == "PERMISSION_DENIED"
    assert "belongs to another team" in response.json()["message"]
    assert (RegisteredModel.objects.get(name=NAME).description, ModelVersion.objects.get().stage) == before
    assert not ModelAlias.objects.exists() and ModelVersion.objects.count() == 1


def test_the_models_team_writes_through_mlflow(registered, ci_client):
    for method, path, body in WRITES[:-2]:  # a transition and a pull are covered by their own tests
        response = _call(ci_client, method, path, body)
        assert response.status_code == 200, (path, response.content)
    assert RegisteredModel.objects.get(name=NAME).description == "rewritten"
    assert ModelVersion.objects.get().description == "rewritten"
    assert _call(ci_client, "post", "model-versions/transition-stage", WRITES[-2][2]).status_code == 200
    assert ModelVersion.objects.get().stage == "archived"


def test_mlflows_create_takes_the_owning_team_from_a_tag(client_as, other_team_scientist):
    from tests.factories import team

    other_team_scientist.groups.add(team(PERSONA_TEAM))  # now in two teams
    client = client_as(other_team_scientist)
    unnamed = _call(client, "post", "registered-models/create", {"name": "churn"})
    assert unnamed.status_code == 400 and unnamed.json()["message"].startswith("team:")
    body = {"name": "churn", "tags": [{"key": "owning_team", "value": OTHER_TEAM}]}
    created = _call(client, "post", "registered-models/create", body)
    assert created.status_code == 200, created.content
    assert RegisteredModel.objects.get(name="churn").team.name == OTHER_TEAM
    assert created.json()["registered_model"].get("tags", []) == []

"""Models belong to a team: registration gives one, only a superuser moves it (audited), and every write on a
model and its versions is for its team, officers and superusers. Reproduced on the previous release: a data
scientist of another team archived a production version, reported a deployment on it and rewrote its
description, each answered 200."""

import json

import pytest
from django.urls import reverse

from audits.models import AuditEvent
from core import roles
from core.errors import DomainError
from registry.models import Dataset, Deployment, ModelVersion, RegisteredModel
from registry.teams import model_team_change
from tests.factories import OTHER_TEAM, PERSONA_TEAM, UserFactory, team
from tests.registry_fixtures import register_dataset, register_model, register_version

pytestmark = pytest.mark.django_db

DEPLOYMENT = {
    "environment": "prod-eu",
    "strategy": "canary",
    "traffic_percent": "5",
    "rollback_threshold": {"metric": "error_rate", "above": 0.02, "window_minutes": 10},
}
HEALTH = {"window_start": "2026-11-01T10:00:00Z", "window_end": "2026-11-01T10:05:00Z", "requests": 100, "errors": 0}


def _events(action: str) -> list[dict]:
    return [json.loads(bytes(b)) for b in AuditEvent.objects.filter(action=action).values_list("body", flat=True)]


def _refused(response) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "permission_denied" and "belongs to another team" in error["message"]


# Registration gives the model a team


def test_a_model_goes_to_the_only_team_of_the_account_that_registers_it(ci_client):
    response = register_model(ci_client)
    assert response.status_code == 201, response.json()
    assert response.json()["team"] == PERSONA_TEAM
    assert RegisteredModel.objects.get(name="credit-scoring").team.name == PERSONA_TEAM
    assert _events("model.registered")[0]["data"]["team"] == PERSONA_TEAM


def test_an_account_in_several_teams_names_one_of_its_own(client_as):
    both = UserFactory(username="both", roles=[roles.DATA_SCIENTIST], teams=[PERSONA_TEAM, OTHER_TEAM])
    unnamed = register_model(client_as(both))
    assert unnamed.status_code == 400 and "team" in unnamed.json()["error"]["fields"]
    assert "several teams" in unnamed.json()["error"]["message"]
    named = register_model(client_as(both), team=OTHER_TEAM)
    assert named.status_code == 201 and named.json()["team"] == OTHER_TEAM


def test_a_team_one_does_not_belong_to_or_none_at_all_is_refused(client_as, requester):
    team(OTHER_TEAM)
    refused = register_model(client_as(requester), team=OTHER_TEAM)
    assert refused.status_code == 403 and refused.json()["error"]["fields"] == {"team": ["Not your team."]}
    assert register_model(client_as(requester), team=roles.DATA_SCIENTIST).status_code == 400  # a role, not a team
    loner = UserFactory(username="loner", roles=[roles.DATA_SCIENTIST], teams=[])
    alone = register_model(client_as(loner))
    assert alone.status_code == 400 and "belong to no team" in alone.json()["error"]["message"]
    assert not RegisteredModel.objects.exists()


def test_a_superuser_registers_for_any_team(client_as):
    root = UserFactory(username="root2", is_superuser=True, is_staff=True, teams=[])
    team(OTHER_TEAM)
    assert register_model(client_as(root), team=OTHER_TEAM).json()["team"] == OTHER_TEAM


# Only a superuser moves a model to another team


def test_a_superuser_moves_a_model_in_the_admin_with_an_event(client, registered, admin_user):
    model = RegisteredModel.objects.get(name="credit-scoring")
    target = team(OTHER_TEAM)
    client.force_login(admin_user)
    url = reverse("admin:registry_registeredmodel_change", args=[model.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"team": target.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    model.refresh_from_db()
    assert model.team == target
    [event] = _events("model.team_changed")
    assert event["actor"] == f"user:{admin_user.pk}"
    assert {key: event["data"][key] for key in ("name", "from", "to")} == {
        "name": "credit-scoring",
        "from": PERSONA_TEAM,
        "to": OTHER_TEAM,
    }


def test_nobody_else_moves_a_model(client, registered, officer, requester):
    model = RegisteredModel.objects.get(name="credit-scoring")
    target = team(OTHER_TEAM)
    for person in (officer, requester):
        with pytest.raises(DomainError) as refused:
            model_team_change(model=model, team=target, user=person)
        assert refused.value.status_code == 403
    client.force_login(officer)
    url = reverse("admin:registry_registeredmodel_change", args=[model.pk])
    client.post(url, {"team": target.pk})
    assert RegisteredModel.objects.get(pk=model.pk).team.name == PERSONA_TEAM
    assert not _events("model.team_changed")


# Writes: another team's member with the right role is refused on every endpoint; the team is not


def test_metadata_of_another_teams_model_and_version_is_refused(registered, client_as, other_team_scientist, requester):
    model_url = reverse("v1:model", args=["credit-scoring"])
    version_url = reverse("v1:model-version", args=["credit-scoring", "1.0.0"])
    body = {"description": "rewritten", "tags": {"owner": "me"}}
    _refused(client_as(other_team_scientist).patch(model_url, body, format="json"))
    _refused(client_as(other_team_scientist).patch(version_url, body, format="json"))
    assert RegisteredModel.objects.get(name="credit-scoring").description == ""
    assert client_as(requester).patch(model_url, body, format="json").status_code == 200
    assert client_as(requester).patch(version_url, body, format="json").status_code == 200


def test_archiving_another_teams_version_is_refused(registered, client_as, other_team_scientist, other_team_ci_client):
    url = reverse("v1:stage-change", args=["credit-scoring", "1.0.0"])
    _refused(client_as(other_team_scientist).post(url, {"stage": "archived"}, format="json"))
    _refused(other_team_ci_client.post(url, {"stage": "archived"}, format="json"))
    assert ModelVersion.objects.get(version="1.0.0").stage == "none"


def test_the_team_and_an_officer_archive(registered, ci_client, client_as, officer, admin_user):
    url = reverse("v1:stage-change", args=["credit-scoring", "1.0.0"])
    assert client_as(officer).post(url, {"stage": "staging"}, format="json").status_code == 409  # needs approval
    assert ci_client.post(url, {"stage": "archived"}, format="json").status_code == 200
    assert client_as(admin_user).post(url, {"stage": "none"}, format="json").status_code == 200


def test_rolling_back_another_teams_model_is_refused(registered, client_as, other_team_scientist, requester):
    url = reverse("v1:model-rollback", args=["credit-scoring"])
    _refused(client_as(other_team_scientist).post(url, {"reason": "error rate 4%"}, format="json"))
    assert client_as(requester).post(url, {"reason": "error rate 4%"}, format="json").status_code == 409  # no target


def test_deployments_and_their_health_on_another_teams_version_are_refused(
    registered, ci_client, client_as, other_team_scientist, other_team_ci_client
):
    url = reverse("v1:deployments", args=["credit-scoring", "1.0.0"])
    _refused(other_team_ci_client.post(url, DEPLOYMENT, format="json"))
    _refused(client_as(other_team_scientist).post(url, DEPLOYMENT, format="json"))
    assert not Deployment.objects.exists()
    deployment = ci_client.post(url, DEPLOYMENT, format="json")
    assert deployment.status_code == 201, deployment.json()
    health = reverse("v1:deployment-health", args=[deployment.json()["id"]])
    _refused(other_team_ci_client.post(health, HEALTH, format="json"))
    assert ci_client.post(health, HEALTH, format="json").status_code == 201


def test_a_new_version_of_another_teams_model_is_refused(
    registered, other_team_ci_client, ci_client, other_model_bytes
):
    _refused(register_version(other_team_ci_client, other_model_bytes, version="1.1.0"))
    import_url = reverse("v1:model-version-import", args=["credit-scoring"])
    body = {"version": "1.2.0", "tracking_uri": "sqlite:////nowhere/mlflow.db", "source": "models:/credit/1"}
    _refused(other_team_ci_client.post(import_url, body, format="json"))
    assert not ModelVersion.objects.filter(version__in=["1.1.0", "1.2.0"]).exists()
    assert register_version(ci_client, other_model_bytes, version="1.1.0").status_code == 201


def test_a_dataset_for_another_teams_model_is_refused(registered, other_team_ci_client, applicants):
    _refused(register_dataset(other_team_ci_client, applicants, model="credit-scoring"))


# Reads of data-set profiles: the team, officers and auditors; other teams' rows are absent


def test_data_set_profiles_are_read_by_the_team_officers_and_auditors(
    registered, client_as, requester, officer, auditor, other_team_scientist
):
    dataset = Dataset.objects.get().pk
    detail = reverse("v1:dataset", args=[dataset])
    for reader in (requester, officer, auditor):
        assert client_as(reader).get(detail).status_code == 200
        assert [row["id"] for row in client_as(reader).get(reverse("v1:datasets")).json()["results"]] == [dataset]
    assert client_as(other_team_scientist).get(detail).status_code == 404
    assert client_as(other_team_scientist).get(reverse("v1:datasets")).json()["results"] == []

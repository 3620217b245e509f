"""A version registered without evaluation data (as every version MLflow's client makes is) could never be
approved: nothing could attach the data its evidence is computed on, so the approval met `409 evidence_missing`
under every shipped policy. CI names the data on the version natively (PATCH) or from MLflow's side (the
reserved tag `verity.evaluation_dataset`), while no approval of the version is in force; the 409 says so."""

import pytest
from django.urls import reverse

from approvals.services import approval_policy_update
from audits.models import AuditEvent
from registry.models import ApprovalPolicy, ModelVersion
from tests.registry_fixtures import decide, register_dataset, register_version, request_approval

pytestmark = pytest.mark.django_db
API = "/api/2.0/mlflow"
NAME = "credit-scoring"


@pytest.fixture
def bare(registered, ci_client, model_bytes) -> ModelVersion:
    """Version 2.0.0 of the registered model, registered without evaluation data."""
    response = register_version(ci_client, model_bytes, version="2.0.0")
    assert response.status_code == 201, response.json()
    return ModelVersion.objects.get(version="2.0.0")


def _patch(client, body: dict, version: str = "2.0.0"):
    return client.patch(reverse("v1:model-version", args=[NAME, version]), body, format="json")


def _dataset_id(version: str = "1.0.0") -> int:
    return ModelVersion.objects.get(version=version).evaluation_dataset_id


def test_the_409_names_the_levers_where_the_version_has_no_evaluation_data(bare, ci_client, client_as, officer):
    ApprovalPolicy.objects.update(requires_explanation=False, requires_model_cards=False, approvals_required=1)
    request_id = request_approval(ci_client, version="2.0.0").json()["id"]
    refused = decide(client_as(officer), request_id)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "evidence_missing"
    (reason,) = refused.json()["error"]["fields"]["reasons"]
    assert reason.startswith("bias_audit: no bias audit has been produced")
    assert "the version has no evaluation data set to compute it on" in reason
    assert f'PATCH {reverse("v1:model-version", args=[NAME, "2.0.0"])} {{"evaluation_dataset"' in reason
    assert "verity.evaluation_dataset=<data set id>" in reason
    assert reverse("v1:evidence-request", args=[NAME, "2.0.0"]) in reason


def test_ci_names_the_evaluation_data_natively_and_the_approval_goes_through(
    bare, ci_client, client_as, officer, bias_only_policy
):
    named = _patch(ci_client, {"evaluation_dataset": _dataset_id()})
    assert named.status_code == 200, named.json()
    assert named.json()["evaluation_dataset"] == _dataset_id()
    assert _dataset_id("2.0.0") == _dataset_id()
    event = AuditEvent.objects.filter(action="model_version.evaluation_dataset_set").get()
    assert event.object_ref == f"registry.modelversion:{bare.pk}" and event.actor.startswith("service:")
    # A new request queues the policy's evidence on that data (the bias audit runs in-process here).
    request_id = request_approval(ci_client, version="2.0.0").json()["id"]
    assert decide(client_as(officer), request_id).status_code in (201, 409)  # the audit decides, not the lever
    item = ci_client.get(reverse("v1:approval-request", args=[request_id])).json()["progress"]["evidence"][0]
    assert item["requirement"] == "bias_audit" and "no bias audit has been produced" not in item["reason"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("abc", "a whole number"),
        (-3, "a whole number"),
        (True, "a whole number"),
        ({"id": 1}, "a whole number"),
        (99999, "no data set 99999 that you may read"),
        ("1" * 40, "a whole number"),
    ],
)
def test_a_bad_data_set_is_a_400_naming_the_field(bare, ci_client, value, says):
    response = _patch(ci_client, {"evaluation_dataset": value})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and says in error["fields"]["evaluation_dataset"][0]
    assert _dataset_id("2.0.0") is None and not AuditEvent.objects.filter(action__contains="evaluation").exists()


def test_another_teams_data_set_does_not_exist_for_ci(bare, ci_client, other_team_ci_client, applicants):
    theirs = register_dataset(other_team_ci_client, applicants).json()["id"]
    response = _patch(ci_client, {"evaluation_dataset": theirs})
    assert response.status_code == 400 and "that you may read" in response.json()["error"]["message"]


def test_data_the_artifact_cannot_predict_is_refused(bare, ci_client, applicants):
    schema = {"features": ["income"], "target": "default", "positive_label": 1, "task": "binary_classification"}
    other = register_dataset(ci_client, applicants[["income", "default"]], schema=schema).json()["id"]
    response = _patch(ci_client, {"evaluation_dataset": other})
    assert response.status_code == 400, response.json()
    assert "evaluation_dataset" in response.json()["error"]["fields"]
    assert _dataset_id("2.0.0") is None


def test_another_team_may_not_name_the_data(bare, other_team_ci_client):
    response = _patch(other_team_ci_client, {"evaluation_dataset": _dataset_id()})
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert _dataset_id("2.0.0") is None


def test_not_while_an_approval_of_the_version_is_in_force(approved, ci_client, applicants):
    other = register_dataset(ci_client, applicants, name="applicants-2026q4").json()["id"]
    response = _patch(ci_client, {"evaluation_dataset": other}, version="1.0.0")
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "approval_in_force"
    assert "approved for production" in response.json()["error"]["message"]
    assert _dataset_id() != other


def test_mlflow_s_set_tag_names_the_data_and_reads_it_back_as_the_tag(bare, ci_client):
    body = {"name": NAME, "version": "2", "key": "verity.evaluation_dataset", "value": str(_dataset_id())}
    assert ci_client.post(f"{API}/model-versions/set-tag", body, format="json").status_code == 200
    assert _dataset_id("2.0.0") == _dataset_id() and "verity.evaluation_dataset" not in bare.tags
    shown = ci_client.get(f"{API}/model-versions/get", {"name": NAME, "version": "2"}).json()["model_version"]
    assert {"key": "verity.evaluation_dataset", "value": str(_dataset_id())} in shown["tags"]
    bad = ci_client.post(f"{API}/model-versions/set-tag", {**body, "value": "eval"}, format="json")
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    removed = ci_client.delete(
        f"{API}/model-versions/delete-tag", {"name": NAME, "version": "2", "key": body["key"]}, format="json"
    )
    assert removed.status_code == 400 and "never removed" in removed.json()["message"]


def test_reserved_tags_are_not_free_metadata(bare, ci_client):
    response = _patch(ci_client, {"tags": {"verity.evaluation_dataset": "1"}})
    assert response.status_code == 400 and "reserved" in response.json()["error"]["message"]


def test_a_request_made_under_an_old_policy_says_so(registered, ci_client, admin_user, client_as, officer):
    request_id = request_approval(ci_client).json()["id"]
    url = reverse("v1:approval-request", args=[request_id])
    assert ci_client.get(url).json()["progress"]["policy_changed"] is None
    policy = ApprovalPolicy.objects.get(risk_tier="medium")
    approval_policy_update(policy=policy, user=admin_user, changes={"validity_days": 30})
    changed = ci_client.get(url).json()["progress"]["policy_changed"]
    assert "made under an earlier policy" in changed["message"]
    assert any(line.startswith("validity_days: ") and line.endswith(", 30 now") for line in changed["changes"])
    client = client_as(officer)
    client.force_login(officer)
    page = client.get(reverse("admin:registry_approvalrequest_change", args=[request_id]))
    assert b'id="review-policy-changed"' in page.content and b"validity_days" in page.content

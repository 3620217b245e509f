"""MLflow's client names a version's evaluation data with the reserved tag `verity.evaluation_dataset` on its
create call, so a version registered the MLflow way gets its evidence and can be approved; the version's page
says where its risk tier came from when MLflow's create call gave none (MLFLOW_API_DEFAULT_RISK_TIER)."""

import pandas as pd
import pytest
from django.urls import reverse
from mlflow.exceptions import MlflowException

from approvals.selectors import approval_request_state
from registry.models import ApprovalRequest, ModelVersion
from tests.registry_fixtures import decide, register_dataset, request_approval

NAME = "credit-scoring"
SCHEMA = {
    "features": ["income", "debt_ratio"],
    "target": "default",
    "positive_label": 1,
    "task": "binary_classification",
    "sensitive_features": ["sex"],
}


def _evaluation_data(store) -> pd.DataFrame:
    """The store's evaluation rows, once for each sex: the groups are treated alike and the audit passes."""
    rows = store.features.assign(default=store.predictions)
    return pd.concat([rows.assign(sex=sex) for sex in ("F", "M")], ignore_index=True)


def test_a_version_made_by_mlflow_s_client_names_its_data_and_is_approved(
    mlflow_service, ci_client, client_as, officer, bias_only_policy, settings, django_user_model
):
    settings.MLFLOW_API_DEFAULT_RISK_TIER = "medium"
    client, run_id = mlflow_service.client, mlflow_service.store.run_id
    client.create_registered_model(NAME)  # no risk_tier tag: the setting gives it
    dataset = register_dataset(ci_client, _evaluation_data(mlflow_service.store), schema=SCHEMA, model=NAME)
    assert dataset.status_code == 201, dataset.json()
    with pytest.raises(MlflowException) as refused:  # a data set that is not there names the tag
        client.create_model_version(NAME, f"runs:/{run_id}/model", run_id, tags={"verity.evaluation_dataset": "0"})
    assert "tags.verity.evaluation_dataset" in refused.value.message and not ModelVersion.objects.exists()

    made = client.create_model_version(
        NAME, f"runs:/{run_id}/model", run_id, tags={"verity.evaluation_dataset": str(dataset.json()["id"])}
    )
    version = ModelVersion.objects.get()
    assert version.evaluation_dataset_id == dataset.json()["id"] and "verity.evaluation_dataset" not in version.tags
    assert client.get_model_version(NAME, made.version).tags["verity.evaluation_dataset"] == str(dataset.json()["id"])

    response = request_approval(ci_client, version=version.version)
    assert response.status_code == 202, response.json()
    evidence = approval_request_state(ApprovalRequest.objects.get())["evidence"]
    assert [(item["requirement"], item["status"]) for item in evidence] == [("bias_audit", "done")], evidence
    assert decide(client_as(officer), response.json()["id"]).status_code == 201
    assert ApprovalRequest.objects.get().status == "approved"

    browser = client_as(officer)
    browser.force_login(officer)
    page = browser.get(reverse("admin:registry_modelversion_change", args=[version.pk])).content.decode()
    assert "medium: taken from MLFLOW_API_DEFAULT_RISK_TIER when the model was created through MLflow" in page

"""The API documentation groups its operations by task, not under one "v1" heading."""

import json

import pytest
from django.core.management import call_command

from core.api_tasks import TASKS, task_tag


@pytest.mark.parametrize(
    ("path", "tag"),
    [
        ("/api/v1/models/{name}/versions/", "Registry"),
        ("/api/v1/models/{name}/versions/{version}/gate/", "Stages, deployments and the gate"),
        ("/api/v1/models/{name}/versions/{version}/evidence/", "Evidence"),
        ("/api/v1/models/{name}/versions/{version}/waivers/", "Approvals and waivers"),
        ("/api/v1/monitoring/policies/", "Monitoring"),
        ("/api/v1/reports/{id}/evidence/", "Reports and checklists"),
        ("/api/v1/audit/verify/", "Audit trail"),
        ("/api/v1/me/tokens/", "Accounts and tokens"),
    ],
)
def test_a_path_belongs_to_the_task_it_serves(path, tag):
    assert task_tag(path) == tag


def test_every_operation_in_the_schema_is_in_a_task_group(tmp_path, db):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--file", str(out), "--format", "openapi-json")
    schema = json.loads(out.read_text())
    used = {tag for operations in schema["paths"].values() for op in operations.values() for tag in op["tags"]}
    assert used == {name for name, _, _ in TASKS}  # no "v1", no "Other", no group left empty
    assert [tag["name"] for tag in schema["tags"]] == [name for name, _, _ in TASKS]
    assert all(tag["description"] for tag in schema["tags"])

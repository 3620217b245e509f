"""A database of the release before the layered apps migrates forward with its rows, names and permissions.

Service accounts and tokens moved from governance to accounts, evidence jobs and chunks from audits to
evidence, idempotency records from registry to core: their tables, rows, content types (and so the
permissions granted on them) and the names the trail uses for them stay the same.
"""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audits.services import object_ref

BEFORE = [
    ("governance", "0002_roles"),
    ("audits", "0005_evidence_chunks"),
    ("registry", "0004_policy_thresholds_and_waivers"),
    ("reports", "0001_attestations_and_reports"),
    ("accounts", None),
    ("evidence", None),
    ("core", None),
]
MOVED = {
    ("governance", "serviceaccount"): "accounts",
    ("governance", "apitoken"): "accounts",
    ("audits", "evidencejob"): "evidence",
    ("audits", "evidencechunk"): "evidence",
    ("registry", "idempotencyrecord"): "core",
}


def _migrate(targets) -> object:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state([t for t in targets if t[1]]).apps


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _old_rows(apps) -> dict:
    """Rows written through the models as the previous release had them."""
    User = apps.get_model("auth", "User")
    ContentTypeThen = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    user = User.objects.create(username="ci-main")
    account = apps.get_model("governance", "ServiceAccount").objects.create(user=user, name="ci-main")
    token = apps.get_model("governance", "ApiToken").objects.create(
        service_account=account, prefix="vt_abc", digest="a" * 64
    )
    model = apps.get_model("registry", "RegisteredModel").objects.create(name="credit", risk_tier="low", owner=user)
    artifact = apps.get_model("registry", "Artifact").objects.create(sha256="b" * 64, size=1, format="skops")
    version = apps.get_model("registry", "ModelVersion").objects.create(
        model=model, version="1", artifact=artifact, submitted_by=user
    )
    dataset = apps.get_model("registry", "Dataset").objects.create(
        name="eval", kind="evaluation", sha256="c" * 64, size=1, format="csv", schema={}, registered_by=user
    )
    job = apps.get_model("audits", "EvidenceJob").objects.create(
        kind="explanation", version=version, dataset=dataset, dataset_sha256="c" * 64, requested_by="user:1"
    )
    chunk = apps.get_model("audits", "EvidenceChunk").objects.create(
        job=job, number=0, start=0, stop=10, rows_sha256="d" * 64
    )
    record = apps.get_model("registry", "IdempotencyRecord").objects.create(
        user=user, key="k1", fingerprint="e" * 64, status_code=201, body={"id": 1}
    )
    # A permission on a moved model granted to a role, as an administrator might have done.
    job_type, _ = ContentTypeThen.objects.get_or_create(app_label="audits", model="evidencejob")
    permission, _ = Permission.objects.get_or_create(
        content_type=job_type, codename="view_evidencejob", defaults={"name": "Can view evidence job"}
    )
    apps.get_model("auth", "Group").objects.get(name="auditor").permissions.add(permission)
    return {"account": account.pk, "token": token.pk, "job": job.pk, "chunk": chunk.pk, "record": record.pk}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_database_of_the_previous_release_migrates_forward():
    old = _migrate(BEFORE)
    rows = _old_rows(old)
    _migrate(_latest())

    from accounts.models import ApiToken, ServiceAccount
    from core.models import IdempotencyRecord
    from evidence.models import EvidenceChunk, EvidenceJob

    account = ServiceAccount.objects.get(pk=rows["account"])
    assert account.name == "ci-main"
    assert ApiToken.objects.get(pk=rows["token"]).service_account == account
    job = EvidenceJob.objects.get(pk=rows["job"])
    assert EvidenceChunk.objects.get(pk=rows["chunk"]).job == job
    assert IdempotencyRecord.objects.get(pk=rows["record"]).key == "k1"

    for (old_label, model), new_label in MOVED.items():
        assert not ContentType.objects.filter(app_label=old_label, model=model).exists(), (old_label, model)
        assert ContentType.objects.filter(app_label=new_label, model=model).exists(), (new_label, model)
    job_type = ContentType.objects.get_for_model(EvidenceJob)
    assert job_type.app_label == "evidence"
    assert Group.objects.get(name="auditor").permissions.filter(content_type=job_type).exists()

    # Events keep naming the rows as the trail always has.
    assert object_ref(job) == f"audits.evidencejob:{job.pk}"
    assert object_ref(account) == f"governance.serviceaccount:{account.pk}"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_move_can_be_migrated_back_and_forward_again():
    from evidence.models import EvidenceJob

    ContentType.objects.get_for_model(EvidenceJob)
    _migrate(BEFORE)
    assert ContentType.objects.filter(app_label="audits", model="evidencejob").exists()
    _migrate(_latest())
    assert ContentType.objects.filter(app_label="evidence", model="evidencejob").exists()
    assert not ContentType.objects.filter(app_label="audits", model="evidencejob").exists()

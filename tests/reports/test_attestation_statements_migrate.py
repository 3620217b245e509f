"""Attestations of the previous release, with their statement in the row under its plain SHA-256, migrate
forward: each statement becomes its officer's personal record under a salted digest, except the statements
of people already erased, which the old erasure left behind and the migration drops. Events already in the
chain keep their plain digests, and the chain still verifies."""

import hashlib
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audits.models import AuditEvent, PersonalRecord
from audits.selectors import audit_trail_verify
from audits.services import audit_event_append, person_erase

# The previous release's reports; the registry as it is now (its later columns, MLflow's tags say, need values).
BEFORE = [("reports", "0001_attestations_and_reports"), ("registry", "0009_deployment_guardrails")]
KEPT = "The DPIA covers this version."
DROPPED = "Reviewed with Jane Roe."


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _plain(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _old_attestation(apps, version, user, item_id: str, statement: str):
    """As the previous release wrote it: the text in the row, its plain SHA-256 in the row and the event."""
    row = apps.get_model("reports", "Attestation").objects.create(
        version=version,
        framework="gdpr",
        item_id=item_id,
        checklist_version="2026.1",
        answer="met",
        statement=statement,
        statement_sha256=_plain(statement),
        answered_by=user,
        answered_at=timezone.now(),
    )
    data = {"item_id": item_id, "answer": "met", "statement_sha256": _plain(statement)}
    audit_event_append(
        actor=f"user:{user.pk}", action="attestation.answered", object_ref=f"reports.attestation:{row.pk}", data=data
    )
    return row.pk


def _old_rows(apps) -> dict:
    User = apps.get_model("auth", "User")
    staying, leaving = User.objects.create(username="officer"), User.objects.create(username="jane")
    model = apps.get_model("registry", "RegisteredModel").objects.create(name="credit", risk_tier="low", owner=staying)
    version = apps.get_model("registry", "ModelVersion").objects.create(model=model, version="1", submitted_by=staying)
    kept = _old_attestation(apps, version, staying, "GDPR-35-1", KEPT)
    dropped = _old_attestation(apps, version, leaving, "GDPR-22-3", DROPPED)
    person_erase(subject=f"user:{leaving.pk}", actor="system:cli")  # the old erasure, which left the text in the row
    return {"kept": kept, "dropped": dropped, "staying": staying.pk, "leaving": leaving.pk}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_statements_move_into_personal_records_under_salted_digests():
    rows = _old_rows(_migrate(BEFORE))
    _migrate(_latest())

    from reports.models import Attestation
    from reports.selectors import ERASED, attestation_statement, statement_shown

    kept = Attestation.objects.get(pk=rows["kept"])
    record = PersonalRecord.objects.get(digest=kept.statement_digest)
    assert (record.subject, record.kind, record.text) == (f"user:{rows['staying']}", "attestation_statement", KEPT)
    assert kept.statement_digest == _plain(record.salt + KEPT) != _plain(KEPT)
    assert attestation_statement(kept) == KEPT

    dropped = Attestation.objects.get(pk=rows["dropped"])
    assert statement_shown(attestation_statement(dropped)) == ERASED
    assert dropped.statement_digest != _plain(DROPPED)
    assert not PersonalRecord.objects.filter(text=DROPPED).exists()
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, "reports_attestation")]
    assert "statement" not in columns

    # The chain is immutable: its events keep the plain digests they were written with, and still verify.
    old = [json.loads(bytes(e.body))["data"] for e in AuditEvent.objects.filter(action="attestation.answered")]
    assert [d["statement_sha256"] for d in old] == [_plain(KEPT), _plain(DROPPED)]
    assert audit_trail_verify().ok

    person_erase(subject=f"user:{rows['staying']}", actor="system:cli")
    assert statement_shown(attestation_statement(Attestation.objects.get(pk=rows["kept"]))) == ERASED


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_move_can_be_migrated_back_and_forward_again():
    rows = _old_rows(_migrate(BEFORE))
    _migrate(_latest())
    back = _migrate(BEFORE).get_model("reports", "Attestation")
    kept, dropped = back.objects.get(pk=rows["kept"]), back.objects.get(pk=rows["dropped"])
    assert (kept.statement, kept.statement_sha256) == (KEPT, _plain(KEPT))
    assert dropped.statement == "[erased]"
    assert not PersonalRecord.objects.filter(kind="attestation_statement").exists()
    _migrate(_latest())

    from reports.models import Attestation
    from reports.selectors import attestation_statement

    assert attestation_statement(Attestation.objects.get(pk=rows["kept"])) == KEPT
    assert PersonalRecord.objects.filter(kind="attestation_statement").count() == 1

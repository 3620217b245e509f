"""The guarantees that rest on PostgreSQL itself: triggers, privileges, concurrent appends."""

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from audits.models import AuditEvent
from audits.selectors import audit_trail_verify
from audits.services import audit_event_append, checkpoint_create

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _needs_postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgres://...")


def _refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as error, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return str(error.value)


@pytest.mark.parametrize("table", ["audits_auditevent", "audits_checkpoint"])
def test_triggers_refuse_update_delete_and_truncate(table):
    audit_event_append(actor="system", action="test.event")
    checkpoint_create()
    assert "append-only: UPDATE" in _refused(f"UPDATE {table} SET ts = now()")  # noqa: S608
    assert "append-only: DELETE" in _refused(f"DELETE FROM {table}")  # noqa: S608
    assert "append-only: TRUNCATE" in _refused(f"TRUNCATE {table} CASCADE")
    assert audit_trail_verify().ok


def test_an_application_role_with_insert_and_select_only(django_db_blocker):
    """The role set-up docs/audit-trail.md recommends, applied and attacked."""
    audit_event_append(actor="system", action="test.event")
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS verity_app_test")
        cursor.execute("CREATE ROLE verity_app_test")
        cursor.execute("GRANT SELECT, INSERT ON audits_auditevent, audits_checkpoint TO verity_app_test")
        cursor.execute("SET ROLE verity_app_test")
        try:
            assert "permission denied" in _refused("UPDATE audits_auditevent SET actor = 'x'")
            assert "permission denied" in _refused("DELETE FROM audits_auditevent")
            assert "permission denied" in _refused("SET session_replication_role = replica")
            cursor.execute("SELECT count(*) FROM audits_auditevent")
            assert cursor.fetchone() == (1,)
        finally:
            cursor.execute("RESET ROLE")
            cursor.execute("REVOKE ALL ON audits_auditevent, audits_checkpoint FROM verity_app_test")
            cursor.execute("DROP ROLE verity_app_test")


def test_a_role_that_may_only_insert_cannot_append_a_forged_row():
    """The attack of an INSERT-only account: a row that does not extend the head, or whose hash is
    hex-shaped but wrong, would have stopped every later append or every checkpoint."""
    audit_event_append(actor="system", action="test.event")
    head = AuditEvent.objects.get(seq=1)
    insert = (
        "INSERT INTO audits_auditevent (seq, ts, actor, action, object_ref, prev, hash, body) "
        "VALUES ({seq}, now(), 'user:9', 'forged', '', '{prev}', '{hash}', '\\x7b7d'::bytea)"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS verity_insert_only")
        cursor.execute("CREATE ROLE verity_insert_only")
        cursor.execute("GRANT INSERT ON audits_auditevent TO verity_insert_only")
        cursor.execute("SET ROLE verity_insert_only")
        try:
            assert "does not extend the head" in _refused(insert.format(seq=5, prev=head.hash, hash="a" * 64))
            assert "does not extend the head" in _refused(insert.format(seq=2, prev="b" * 64, hash="a" * 64))
            assert "not the SHA-256 of its body" in _refused(insert.format(seq=2, prev=head.hash, hash="a" * 64))
        finally:
            cursor.execute("RESET ROLE")
            cursor.execute("REVOKE ALL ON audits_auditevent FROM verity_insert_only")
            cursor.execute("DROP ROLE verity_insert_only")
    audit_event_append(actor="system", action="test.after")
    assert checkpoint_create().size == 2
    assert audit_trail_verify().ok


WRITERS, EACH = 32, 200


def _writer(index: int, barrier: threading.Barrier, errors: list) -> None:
    try:
        barrier.wait()
        for n in range(EACH):
            audit_event_append(actor=f"user:{index}", action="test.concurrent", data={"writer": index, "n": n})
    except Exception as exc:  # reported by the test, not swallowed
        errors.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_build_one_linear_chain():
    barrier, errors = threading.Barrier(WRITERS), []
    threads = [threading.Thread(target=_writer, args=(i, barrier, errors)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * EACH + 1))
    result = audit_trail_verify()
    assert result.ok, result
    assert result.size == WRITERS * EACH

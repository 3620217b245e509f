"""Every stored column of an event is checked against its hashed body: by the service, by the command and,
on an export, by the standalone verifier. The tampering runs on SQLite and, in the second pass, on PostgreSQL."""

import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from audits.ledger.verify import verify_lines
from audits.models import AuditEvent
from audits.selectors import audit_trail_verify, export_lines
from audits.services import audit_event_append
from tests.conftest import ROOT
from tests.evidence.helpers import as_db_superuser

pytestmark = pytest.mark.django_db

EDITS = {
    "action": "forged.action",
    "actor": "user:666",
    "object_ref": "registry.modelversion:999",
    "ts": "2020-01-01T00:00:00+00:00",
}


def _append(n: int) -> None:
    for index in range(n):
        audit_event_append(actor="user:1", action="test.event", object_ref=f"registry.model:{index}", data={"i": index})


def _edit(column: str, value, seq: int = 3) -> None:
    as_db_superuser(f"UPDATE audits_auditevent SET {column} = %s WHERE seq = %s", [value, seq])  # noqa: S608


def _standalone(tmp_path) -> tuple[int, dict]:
    trail = tmp_path / "trail.jsonl"
    call_command("export_audit_trail", "--output", str(trail))
    command = [sys.executable, "-m", "audits.ledger.verify", str(trail), "--json"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize("column", sorted(EDITS))
def test_an_edited_column_fails_verification_naming_the_event_and_the_column(column, capsys, tmp_path):
    _append(5)
    assert audit_trail_verify().ok
    _edit(column, EDITS[column])

    result = audit_trail_verify()
    assert (result.ok, result.bad_seq, result.code, result.size) == (False, 3, "column_mismatch", 2)
    assert f"{column} is " in result.reason and "event 3" in result.reason

    with pytest.raises(SystemExit):
        call_command("verify_audit_trail")
    out = capsys.readouterr().out
    assert "FAILED at seq 3 (column_mismatch)" in out and f"{column} is " in out

    # The export carries what the database says; the auditor's verifier fails at the same event.
    returncode, standalone = _standalone(tmp_path)
    assert returncode == 1
    assert (standalone["bad_seq"], standalone["code"]) == (3, "hash_mismatch")


def test_the_edited_value_is_what_the_export_shows():
    _append(4)
    _edit("action", "forged.action")
    lines = [json.loads(line) for line in export_lines()]
    assert [line["action"] for line in lines] == ["test.event", "test.event", "forged.action", "test.event"]


def test_an_edited_hash_or_prev_column_fails_verification():
    _append(4)
    original = AuditEvent.objects.get(seq=2).prev
    _edit("prev", "f" * 64, seq=2)
    result = audit_trail_verify()
    assert (result.bad_seq, result.code) == (2, "column_mismatch") and "prev is " in result.reason
    _edit("prev", original, seq=2)
    assert audit_trail_verify().ok
    _edit("hash", "e" * 64, seq=4)
    result = audit_trail_verify()
    assert (result.bad_seq, result.code) == (4, "hash_mismatch")
    assert verify_lines(export_lines()).bad_seq == 4


def test_an_edited_seq_column_fails_verification():
    _append(4)
    as_db_superuser("UPDATE audits_auditevent SET seq = 40 WHERE seq = 4")
    result = audit_trail_verify()
    assert (result.ok, result.bad_seq, result.code) == (False, 4, "column_mismatch")
    assert "seq is 40" in result.reason
    assert not verify_lines(export_lines()).ok


def test_the_columns_of_an_untouched_trail_agree_on_every_backend():
    audit_event_append(actor="user:1", action="test.event", data={"name": "Zoë"})
    _append(3)
    result = audit_trail_verify()
    assert result.ok and result.size == 4
    assert verify_lines(export_lines()).to_json() == result.to_json()

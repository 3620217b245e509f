"""After the checkpoints are deleted and the tail cut in the database, the service will not sign the shorter
(or another) history: the high-water mark of what it signed lives outside the database."""

import json

import pytest
from django.core.management import CommandError, call_command

from audits.highwater import HighWater, state_path, state_read
from audits.keys import public_pem
from audits.ledger.signing import generate_private_key_pem
from audits.ledger.verify import main as verify_main
from audits.models import Checkpoint
from audits.selectors import audit_trail_verify
from audits.services import ChainBroken, audit_event_append, checkpoint_create
from tests.evidence.helpers import as_db_superuser

pytestmark = pytest.mark.django_db


def _append(n: int) -> None:
    for index in range(n):
        audit_event_append(actor="system", action="test.event", data={"index": index})


def _dba_cuts_the_tail_after(seq: int) -> None:
    as_db_superuser("DELETE FROM audits_checkpoint")
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq > %s", [seq])


def test_each_checkpoint_raises_the_mark_in_a_file_outside_the_database():
    _append(3)
    first = checkpoint_create()
    assert state_read().signed == HighWater(size=3, head=first.head)
    _append(2)
    second = checkpoint_create()
    state = state_read()
    assert state.signed == HighWater(size=5, head=second.head)
    assert (state.last_check["ok"], state.last_check["size"]) == (True, 5)
    assert json.loads(state_path().read_text())["signed"] == {"size": 5, "head": second.head}
    assert not list(state_path().parent.glob(".audit_high_water.json.*"))  # no temporary file left behind


def test_a_cut_tail_without_its_checkpoints_is_never_signed():
    _append(5)
    checkpoint_create()
    _dba_cuts_the_tail_after(3)
    assert audit_trail_verify().ok  # the shorter chain is valid on its own: only the mark tells
    with pytest.raises(ChainBroken, match="holds 3 events, but the service has already signed 5"):
        checkpoint_create()
    assert not Checkpoint.objects.exists()
    state = state_read()
    assert state.signed.size == 5 and state.last_check["ok"] is False
    assert "already signed 5" in state.last_check["reason"]


@pytest.mark.parametrize("appended", [2, 4], ids=["same-size", "beyond"])
def test_another_history_at_or_beyond_the_mark_is_never_signed(appended):
    _append(5)
    checkpoint_create()
    _dba_cuts_the_tail_after(3)
    _append(appended)  # the service appends on the cut chain: seq 4, 5, ... with other hashes
    with pytest.raises(ChainBroken, match="event 5 has hash .* but the service signed head"):
        checkpoint_create()
    assert not Checkpoint.objects.exists()


def test_the_command_refuses_with_the_reason(capsys):
    _append(4)
    call_command("create_checkpoint")
    _dba_cuts_the_tail_after(2)
    with pytest.raises(CommandError, match="already signed 4"):
        call_command("create_checkpoint")


def test_a_damaged_mark_stops_signing_until_it_is_restored():
    _append(2)
    checkpoint_create()
    saved = state_path().read_bytes()
    state_path().write_text("{not json")
    _append(1)
    with pytest.raises(ChainBroken, match="high-water file .* is damaged"):
        checkpoint_create()
    state_path().write_bytes(saved)
    assert checkpoint_create().size == 3


def test_a_fresh_mark_starts_from_what_the_trail_verifies():
    _append(2)
    assert not state_path().exists()
    assert checkpoint_create().size == 2
    assert state_read().signed.size == 2


def test_a_rotated_key_keeps_the_old_checkpoints_verifying_and_the_mark(settings, tmp_path):
    _append(3)
    checkpoint_create()
    retired = tmp_path / "retired.pem"
    retired.write_bytes(public_pem())
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "new_key.pem"
    settings.AUDIT_SIGNING_KEY_FILE.write_bytes(generate_private_key_pem())
    assert audit_trail_verify().code == "bad_checkpoint_signature"  # the old checkpoint, under the new key only
    settings.AUDIT_RETIRED_PUBLIC_KEY_FILES = [str(retired)]
    _append(1)
    second = checkpoint_create()
    assert second.key_fingerprint != Checkpoint.objects.get(size=3).key_fingerprint
    result = audit_trail_verify()
    assert result.ok and result.checkpoints_checked == 2
    assert state_read().signed == HighWater(size=4, head=second.head)

    # The auditor's verifier takes both public keys.
    trail, checkpoints, current = tmp_path / "trail.jsonl", tmp_path / "checkpoints.json", tmp_path / "current.pem"
    call_command("export_audit_trail", "--output", str(trail))
    checkpoints.write_text(
        json.dumps([{**json.loads(bytes(c.body)), "signature": c.signature} for c in Checkpoint.objects.all()])
    )
    current.write_bytes(public_pem())
    argv = [str(trail), "--checkpoints", str(checkpoints), "--public-key", str(current)]
    assert verify_main(argv) == 1
    assert verify_main([*argv, "--public-key", str(retired)]) == 0

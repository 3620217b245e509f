import json
import subprocess
import sys

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from accounts.services import service_account_create, service_account_revoke, user_create
from audits.ledger.hashing import GENESIS_PREV, sha256_hex
from audits.ledger.verify import ChainVerifier
from audits.models import AuditEvent, Checkpoint, PersonalRecord
from audits.selectors import audit_trail_verify, export_lines, stored_chain
from audits.services import ChainBroken, audit_event_append, checkpoint_create, person_erase
from core import request_context
from tests.conftest import ROOT
from tests.evidence.helpers import as_db_superuser, record, rewrite

pytestmark = pytest.mark.django_db


def _append(n: int) -> None:
    for index in range(n):
        audit_event_append(actor="system", action="test.event", data={"index": index})


def test_appends_form_one_linear_chain():
    _append(5)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev == GENESIS_PREV
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev == before.hash
    for event in events:
        assert sha256_hex(bytes(event.body)) == event.hash
        assert json.loads(bytes(event.body))["seq"] == event.seq


def test_the_request_id_goes_into_the_event():
    token = request_context.request_id.set("build-77")
    try:
        audit_event_append(actor="system", action="test.event")
    finally:
        request_context.request_id.reset(token)
    assert record(1)["data"] == {"request_id": "build-77"}


def test_a_state_change_and_its_event_roll_back_together():
    with pytest.raises(RuntimeError), transaction.atomic():
        service_account_create(name="ci-doomed")
        raise RuntimeError("the rest of the change failed")
    assert not AuditEvent.objects.exists()
    assert not get_user_model().objects.filter(username="svc-ci-doomed").exists()


def test_bad_event_data_is_refused_and_nothing_is_written():
    with pytest.raises(ValueError, match="data.score: nan is not allowed"):
        audit_event_append(actor="system", action="test.event", data={"score": float("nan")})
    assert not AuditEvent.objects.exists()


def test_service_account_lifecycle_is_audited():
    account, _ = service_account_create(name="ci-main", actor="user:1")
    service_account_revoke(account=account, actor="user:1")
    actions = [(record(e.seq)["action"], record(e.seq)["actor"]) for e in AuditEvent.objects.all()]
    assert actions == [
        ("service_account.created", "user:1"),
        ("api_token.issued", "user:1"),
        ("service_account.revoked", "user:1"),
    ]
    assert record(3)["data"] == {"name": "ci-main", "tokens_revoked": 1}
    assert record(3)["object"] == f"governance.serviceaccount:{account.pk}"


def test_no_personal_data_enters_the_hashed_bytes():
    user = user_create(username="jane.doe@example.org", password="a-long-enough-password", role="auditor")
    body = bytes(AuditEvent.objects.get(seq=1).body)
    assert b"jane" not in body
    stored = PersonalRecord.objects.get(subject=f"user:{user.pk}")
    assert stored.text == "jane.doe@example.org"
    assert json.loads(body)["data"]["username_sha256"] == sha256_hex((stored.salt + stored.text).encode())


def test_erasure_removes_the_person_and_the_chain_still_verifies():
    user = user_create(username="jane", password="a-long-enough-password", role="auditor")
    _append(2)
    event = person_erase(subject=f"user:{user.pk}", actor="user:99")
    assert not PersonalRecord.objects.filter(subject=f"user:{user.pk}").exists()
    user.refresh_from_db()
    assert (user.username, user.is_active) == (f"erased-{user.pk}", False)
    assert record(event.seq)["data"]["records_erased"] == 1
    result = audit_trail_verify()
    assert result.ok and result.size == 4


def test_checkpoints_sign_the_head_once_and_verify():
    assert checkpoint_create() is None
    _append(3)
    first = checkpoint_create()
    assert (first.size, first.head) == (3, AuditEvent.objects.get(seq=3).hash)
    assert checkpoint_create().pk == first.pk
    _append(1)
    assert checkpoint_create().size == 4
    result = audit_trail_verify()
    assert result.ok and result.checkpoints_checked == 2


def test_a_tampered_chain_is_never_signed():
    _append(3)
    body = record(2)
    body["data"]["index"] = 42
    rewrite(2, body, rehash=False)
    with pytest.raises(ChainBroken, match="seq 2"):
        checkpoint_create()
    assert not Checkpoint.objects.exists()


def test_an_edited_event_is_found_at_its_seq():
    _append(4)
    body = record(3)
    body["actor"] = "user:666"
    rewrite(3, body, rehash=False)
    result = audit_trail_verify()
    assert (result.ok, result.bad_seq, result.code) == (False, 3, "hash_mismatch")


def test_a_deleted_middle_event_is_a_gap():
    _append(4)
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq = 2")
    result = audit_trail_verify()
    assert (result.bad_seq, result.code) == (2, "gap")


def test_a_cut_tail_is_caught_by_the_checkpoint():
    _append(5)
    checkpoint_create()
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq >= 4")
    result = audit_trail_verify()
    assert (result.ok, result.code, result.bad_seq) == (False, "truncated", 4)


def test_a_rewritten_and_rehashed_history_is_caught_by_the_checkpoint():
    _append(4)
    checkpoint_create()
    prev = GENESIS_PREV
    for seq in range(1, 5):
        body = record(seq)
        body["prev"] = prev
        body["data"]["index"] = 1000 + seq
        prev = rewrite(seq, body, rehash=True)
    bare = ChainVerifier()
    for event in stored_chain():
        bare.feed(*event)
    assert bare.result().ok  # without the checkpoint the rewrite would go unnoticed
    result = audit_trail_verify()
    assert (result.ok, result.code, result.bad_seq) == (False, "checkpoint_mismatch", 4)


def test_a_forged_checkpoint_signature_is_caught():
    _append(2)
    checkpoint = checkpoint_create()
    forged = "A" * 86 + "=="
    as_db_superuser("UPDATE audits_checkpoint SET signature = %s WHERE id = %s", [forged, checkpoint.pk])
    result = audit_trail_verify()
    assert (result.ok, result.code) == (False, "bad_checkpoint_signature")


def test_verify_command_exit_status(capsys):
    _append(3)
    call_command("verify_audit_trail")
    assert capsys.readouterr().out.startswith("OK: 3 events")
    as_db_superuser("DELETE FROM audits_auditevent WHERE seq = 2")
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_trail")
    assert exit_info.value.code == 1
    assert "FAILED at seq 2 (gap)" in capsys.readouterr().out


def test_the_standalone_verifier_agrees_with_the_export(tmp_path, settings, _audit_signing_key):
    _append(6)
    checkpoint = checkpoint_create()
    trail = tmp_path / "trail.jsonl"
    call_command("export_audit_trail", "--output", str(trail))
    assert trail.read_bytes() == b"".join(export_lines())
    checkpoints = tmp_path / "checkpoints.json"
    checkpoints.write_text(json.dumps([{**json.loads(bytes(checkpoint.body)), "signature": checkpoint.signature}]))
    key = tmp_path / "key.pem"
    from audits.keys import public_pem

    key.write_bytes(public_pem())
    command = [
        sys.executable,
        "-m",
        "audits.ledger.verify",
        str(trail),
        "--checkpoints",
        str(checkpoints),
        "--public-key",
        str(key),
        "--json",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    standalone = json.loads(result.stdout)
    assert standalone == audit_trail_verify().to_json()
    assert standalone["checkpoints_checked"] == 1


def test_a_partial_export_holds_the_requested_range():
    _append(5)
    lines = list(export_lines(from_seq=2, to_seq=3))
    assert [json.loads(line)["seq"] for line in lines] == [2, 3]
    verifier = ChainVerifier()
    for line in export_lines():
        verifier.feed_line(line.rstrip(b"\n"))
    assert verifier.result().ok


def test_the_same_event_serialises_to_the_same_bytes_in_another_process():
    event = audit_event_append(actor="user:1", action="test.event", data={"name": "Zoë", "x": 0.1, "n": [1, 2]})
    code = (
        "import sys, json; from audits.ledger.hashing import seal; "
        "r = json.loads(sys.stdin.read()); r.pop('v'); "
        "sys.stdout.buffer.write(seal(**r).body)"
    )
    fields = record(event.seq)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, input=json.dumps(fields).encode(), capture_output=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == bytes(event.body)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunks", "row-at-a-time"])
def test_verification_reads_the_chain_in_batches_and_stops_cleanly(monkeypatch, chunked):
    # On PostgreSQL, chunks of 2 rows stream several times and the stop comes in the middle of one;
    # an older libpq streams a row at a time.
    monkeypatch.setattr("audits.selectors.CHUNK", 2)
    monkeypatch.setattr(psycopg.capabilities, "has_stream_chunked", lambda check=False: chunked)
    _append(7)
    assert audit_trail_verify().size == 7
    body = record(5)
    body["data"]["index"] = 99
    rewrite(5, body, rehash=False)
    with transaction.atomic():
        result = audit_trail_verify()
        assert (result.ok, result.bad_seq, result.code) == (False, 5, "hash_mismatch")
        # The caller's transaction and connection are still usable after the early stop.
        assert AuditEvent.objects.count() == 7
    assert [json.loads(event[0])["seq"] for event in stored_chain(from_seq=3)] == [3, 4, 5, 6, 7]

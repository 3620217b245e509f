"""The standalone verifier: attacks on a stored trail, each caught at the right seq."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from audits.ledger.hashing import GENESIS_PREV, SealedRecord, canonical, seal, sha256_hex
from audits.ledger.signing import (
    checkpoint_body,
    checkpoint_to_json,
    generate_private_key_pem,
    load_private_key,
    public_key_pem,
    sign_checkpoint,
)
from audits.ledger.verify import ChainVerifier, VerifyResult, verify_lines

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
KEY = load_private_key(generate_private_key_pem())
PUBLIC = KEY.public_key()
Row = tuple[bytes, str]


def chain(n: int, data: Callable[[int], dict[str, Any]] = lambda seq: {"n": seq}) -> list[SealedRecord]:
    records: list[SealedRecord] = []
    for seq in range(1, n + 1):
        prev = records[-1].hash if records else GENESIS_PREV
        records.append(_event(seq, prev, data(seq)))
    return records


def _event(seq: int, prev: str, data: dict[str, Any]) -> SealedRecord:
    return seal(
        seq=seq,
        ts=T0 + timedelta(seconds=seq),
        actor=f"user:{seq % 3}",
        action="approval.decided",
        object=f"governance.approval:{seq}",
        data=data,
        prev=prev,
    )


def rows(records: list[SealedRecord]) -> list[Row]:
    return [(r.body, r.hash) for r in records]


def checkpoint(records: list[SealedRecord], size: int, key: Any = KEY) -> tuple[dict[str, Any], str]:
    body = checkpoint_body(size=size, head=records[size - 1].hash, ts=T0 + timedelta(hours=1))
    return body, sign_checkpoint(key, body)


def verify(trail: list[Row], **kw: Any) -> VerifyResult:
    verifier = ChainVerifier(**kw)
    for body, claimed in trail:
        verifier.feed(body, claimed)
    return verifier.result()


def assert_fails(result: VerifyResult, code: str, bad_seq: int, *phrases: str) -> None:
    assert (result.ok, result.code, result.bad_seq) == (False, code, bad_seq), result
    for phrase in phrases:
        assert phrase in (result.reason or ""), result.reason


def test_intact_chain_verifies() -> None:
    records = chain(50)
    result = verify(rows(records))
    assert result == VerifyResult(ok=True, size=50, head=records[-1].hash)


def test_empty_chain_is_ok_with_size_zero() -> None:
    assert verify([]) == VerifyResult(ok=True, size=0, head=GENESIS_PREV)
    assert verify_lines([]).ok


def test_edited_field_without_rehash_is_a_hash_mismatch() -> None:
    trail = rows(chain(5))
    body, claimed = trail[2]
    trail[2] = (body.replace(b'"n":3', b'"n":4'), claimed)
    result = verify(trail)
    assert_fails(result, "hash_mismatch", 3, "event 3", claimed)
    assert (result.size, result.head) == (2, trail[1][1])


def test_flipped_hash_byte_is_a_hash_mismatch() -> None:
    trail = rows(chain(5))
    body, claimed = trail[3]
    trail[3] = (body, ("1" if claimed[0] != "1" else "2") + claimed[1:])
    assert_fails(verify(trail), "hash_mismatch", 4)


def test_deleted_middle_event_is_a_gap() -> None:
    trail = rows(chain(5))
    del trail[2]
    assert_fails(verify(trail), "gap", 3, "expected seq 3 but found seq 4", "event 3 is missing")


def test_several_deleted_events_are_named() -> None:
    trail = rows(chain(9))
    del trail[2:6]
    assert_fails(verify(trail), "gap", 3, "events 3 to 6 are missing")


def test_deleted_tail_is_invisible_without_a_checkpoint() -> None:
    records = chain(5)
    assert verify(rows(records)[:3]).ok


def test_deleted_tail_is_truncated_against_a_checkpoint() -> None:
    records = chain(5)
    result = verify(rows(records)[:3], checkpoints=[checkpoint(records, 5)], public_key=PUBLIC)
    assert_fails(result, "truncated", 4, "covers 5 events", "holds 3")
    assert result.size == 3


def test_inserted_forged_event_is_detected_after_it() -> None:
    records = chain(5)
    forged = _event(3, records[1].hash, {"n": 999})
    trail = rows(records[:2]) + [(forged.body, forged.hash)] + rows(records[2:])
    assert_fails(verify(trail), "gap", 4, "expected seq 4 but found seq 3", "duplicate or out-of-order")


def test_replaced_event_breaks_the_link_of_the_next() -> None:
    records = chain(5)
    forged = _event(3, records[1].hash, {"n": 999})
    trail = rows(records)
    trail[2] = (forged.body, forged.hash)
    assert_fails(verify(trail), "broken_link", 4, records[2].hash, forged.hash)


def test_event_linked_to_a_foreign_prev_is_a_broken_link() -> None:
    records = chain(3)
    stranger = _event(2, "ab" * 32, {"n": 2})
    trail = rows(records)
    trail[1] = (stranger.body, stranger.hash)
    assert_fails(verify(trail), "broken_link", 2, "ab" * 32)


def test_swapped_events_are_a_gap_at_the_first_position() -> None:
    trail = rows(chain(5))
    trail[1], trail[2] = trail[2], trail[1]
    assert_fails(verify(trail), "gap", 2, "expected seq 2 but found seq 3")


def test_rewritten_and_rehashed_history_needs_a_checkpoint() -> None:
    original = chain(5)
    rewritten = chain(5, lambda seq: {"n": 300} if seq == 3 else {"n": seq})
    assert rewritten[:2] == original[:2] and rewritten[2].hash != original[2].hash
    assert verify(rows(rewritten)).ok
    checkpoints = [checkpoint(original, 2), checkpoint(original, 5)]
    result = verify(rows(rewritten), checkpoints=checkpoints, public_key=PUBLIC)
    assert_fails(result, "checkpoint_mismatch", 5, original[4].hash, "rewritten")
    assert result.checkpoints_checked == 1


def test_checkpoints_checked_counts_matched_checkpoints() -> None:
    records = chain(6)
    checkpoints = [checkpoint(records, 2), checkpoint(records, 6), checkpoint(records, 6)]
    result = verify(rows(records), checkpoints=checkpoints, public_key=PUBLIC)
    assert (result.ok, result.checkpoints_checked, result.size) == (True, 2, 6)


def test_checkpoint_signed_by_another_key_is_rejected() -> None:
    records = chain(5)
    forger = load_private_key(generate_private_key_pem())
    result = verify(rows(records), checkpoints=[checkpoint(records, 4, key=forger)], public_key=PUBLIC)
    assert_fails(result, "bad_checkpoint_signature", 4, "invalid signature")
    assert result.size == 0


def test_checkpoint_head_altered_after_signing_is_rejected() -> None:
    original, rewritten = chain(5), chain(5, lambda seq: {"n": -seq})
    body, signature = checkpoint(original, 5)
    altered = ({**body, "head": rewritten[4].hash}, signature)
    result = verify(rows(rewritten), checkpoints=[checkpoint(original, 1), altered], public_key=PUBLIC)
    assert_fails(result, "bad_checkpoint_signature", 5)


def test_two_signed_heads_for_one_size_are_a_mismatch() -> None:
    one, other = chain(4), chain(4, lambda seq: {"n": -seq})
    result = verify(rows(one), checkpoints=[checkpoint(one, 4), checkpoint(other, 4)], public_key=PUBLIC)
    assert_fails(result, "checkpoint_mismatch", 4, "two different histories")


def test_checkpoints_need_a_public_key() -> None:
    records = chain(2)
    with pytest.raises(ValueError, match="public key"):
        ChainVerifier(checkpoints=[checkpoint(records, 2)])


def test_malformed_checkpoint_body_raises() -> None:
    with pytest.raises(ValueError, match="head"):
        ChainVerifier(
            checkpoints=[({"v": 1, "size": 2, "head": "x", "ts": "2026-11-23T10:00:00.000000Z"}, "")], public_key=PUBLIC
        )


def _hashed(body: bytes) -> Row:
    return body, sha256_hex(body)


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (b"not json", "not valid UTF-8 JSON"),
        (b'{"a":1} x', "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"", "not valid UTF-8 JSON"),
        (b"[1,2]", "JSON list"),
        (b'{"v":1,"seq":2,"ts":"","actor":"a","action":"b","object":"","data":{},"prev":NaN}', "NaN"),
        (canonical({"v": 1, "seq": 2}), "exactly the keys"),
    ],
)
def test_unparseable_or_incomplete_event_is_malformed(body: bytes, phrase: str) -> None:
    trail = rows(chain(1)) + [_hashed(body)]
    assert_fails(verify(trail), "malformed", 2, phrase)


def _respelled(record: SealedRecord, **changes: Any) -> Row:
    return _hashed(canonical({**json.loads(record.body), **changes}))


def test_unknown_version_and_non_integer_seq_are_malformed() -> None:
    records = chain(2)
    assert_fails(verify([rows(records)[0], _respelled(records[1], v=2)]), "malformed", 2, "version 2")
    assert_fails(verify([_respelled(records[0], seq="1")]), "malformed", 1, "non-integer seq")
    assert_fails(verify([_respelled(records[0], seq=True)]), "malformed", 1, "non-integer seq")


def test_verification_stops_at_the_first_failure() -> None:
    trail = rows(chain(6))
    del trail[4]
    trail[1] = (trail[1][0], "0" * 64)
    result = verify(trail)
    assert_fails(result, "hash_mismatch", 2)
    assert result.size == 1


def test_database_bytes_may_arrive_as_memoryview() -> None:
    records = chain(3)
    assert verify([(memoryview(r.body), r.hash) for r in records]).size == 3  # type: ignore[misc]


def test_result_to_json() -> None:
    trail = rows(chain(3))
    del trail[1]
    assert verify(trail).to_json() == {
        "ok": False,
        "size": 1,
        "head": trail[0][1],
        "bad_seq": 2,
        "reason": "expected seq 2 but found seq 3: event 2 is missing",
        "code": "gap",
        "checkpoints_checked": 0,
    }


def test_verify_lines_reads_an_export() -> None:
    records = chain(4)
    lines = [b"\n", *(r.line() + b"\r\n" for r in records), b"  \n"]
    result = verify_lines(lines, checkpoints=[checkpoint(records, 4)], public_key=PUBLIC)
    assert (result.ok, result.size, result.head, result.checkpoints_checked) == (True, 4, records[3].hash, 1)


def test_unsplittable_line_is_malformed_at_its_position() -> None:
    lines = [r.line() for r in chain(4)]
    lines[2] = lines[2][:40]
    assert_fails(verify_lines(lines), "malformed", 3, "line for seq 3")


def test_line_with_edited_content_is_a_hash_mismatch() -> None:
    lines = [r.line() for r in chain(4)]
    lines[1] = lines[1].replace(b'"actor":"user:2"', b'"actor":"user:9"')
    assert_fails(verify_lines(lines), "hash_mismatch", 2)


# --- The command line, run as an auditor would, in a fresh interpreter. ---


@pytest.fixture(scope="module")
def no_django(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment where importing django fails loudly, installed or not."""
    poison = tmp_path_factory.mktemp("poison")
    (poison / "django").mkdir()
    (poison / "django" / "__init__.py").write_text("raise ImportError('the verifier must not import django')\n")
    env = {**os.environ, "PYTHONPATH": str(poison)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def run_cli(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "audits.ledger.verify", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def exported(tmp_path: Path) -> dict[str, Any]:
    records = chain(5)
    trail = tmp_path / "trail.jsonl"
    trail.write_bytes(b"".join(r.line() + b"\n" for r in records))
    checkpoints = tmp_path / "checkpoints.json"
    checkpoints.write_text(json.dumps([checkpoint_to_json(*checkpoint(records, n)) for n in (3, 5)]))
    key = tmp_path / "key.pem"
    key.write_bytes(public_key_pem(KEY))
    return {"records": records, "trail": trail, "checkpoints": checkpoints, "key": key, "dir": tmp_path}


def test_verifier_imports_neither_django_nor_the_project(no_django: dict[str, str]) -> None:
    code = (
        "import sys, audits.ledger.verify; print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'rest_framework', 'governance', 'registry', 'reports', 'audits', 'tests')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=no_django, capture_output=True, text=True, timeout=60, check=True
    )
    expected = ["audits", "audits.ledger", "audits.ledger.hashing", "audits.ledger.signing", "audits.ledger.verify"]
    assert out.stdout.strip() == repr(expected)


def test_cli_ok_with_checkpoints(no_django: dict[str, str], exported: dict[str, Any]) -> None:
    done = run_cli(
        no_django, exported["trail"], "--checkpoints", exported["checkpoints"], "--public-key", exported["key"]
    )
    head = exported["records"][-1].hash
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"OK: 5 events, head {head}, 2 checkpoints verified\n",
        "",
    )


def test_cli_ok_without_checkpoints_and_paginated_listing(no_django: dict[str, str], exported: dict[str, Any]) -> None:
    assert run_cli(no_django, exported["trail"]).stdout.startswith("OK: 5 events, head ")
    listing = exported["dir"] / "listing.json"
    listing.write_text(
        json.dumps({"count": 2, "next": None, "results": json.loads(exported["checkpoints"].read_text())})
    )
    done = run_cli(no_django, exported["trail"], "--checkpoints", listing, "--public-key", exported["key"])
    assert done.returncode == 0 and done.stdout.endswith(", 2 checkpoints verified\n")


def test_cli_reports_a_tampered_trail(no_django: dict[str, str], exported: dict[str, Any]) -> None:
    trail: Path = exported["trail"]
    trail.write_bytes(trail.read_bytes().replace(b'"n":3', b'"n":33'))
    done = run_cli(no_django, trail)
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED at seq 3: the bytes of event 3 hash to ")
    result = json.loads(run_cli(no_django, trail, "--json").stdout)
    assert (result["ok"], result["code"], result["bad_seq"], result["size"]) == (False, "hash_mismatch", 3, 2)


def test_cli_reports_a_cut_off_tail(no_django: dict[str, str], exported: dict[str, Any]) -> None:
    trail: Path = exported["trail"]
    trail.write_bytes(b"".join(trail.read_bytes().splitlines(keepends=True)[:4]))
    done = run_cli(no_django, trail, "--checkpoints", exported["checkpoints"], "--public-key", exported["key"])
    assert done.returncode == 1
    assert done.stdout.startswith("FAILED at seq 5: a signed checkpoint covers 5 events but the trail holds 4")


def test_cli_rejects_a_checkpoint_under_a_foreign_key(no_django: dict[str, str], exported: dict[str, Any]) -> None:
    foreign = exported["dir"] / "foreign.pem"
    foreign.write_bytes(public_key_pem(load_private_key(generate_private_key_pem())))
    done = run_cli(no_django, exported["trail"], "--checkpoints", exported["checkpoints"], "--public-key", foreign)
    assert done.returncode == 1 and "invalid signature" in done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["missing.jsonl"], "missing.jsonl"),
        (["{trail}", "--checkpoints", "{checkpoints}"], "--checkpoints needs --public-key"),
        (["{trail}", "--checkpoints", "{checkpoints}", "--public-key", "{trail}"], "PEM"),
        (["{trail}", "--checkpoints", "{trail}", "--public-key", "{key}"], "error:"),
        (["{trail}", "--checkpoints", "nowhere.json", "--public-key", "{key}"], "nowhere.json"),
        ([], "usage:"),
    ],
)
def test_cli_usage_and_input_errors_exit_2(
    no_django: dict[str, str], exported: dict[str, Any], args: list[str], needle: str
) -> None:
    done = run_cli(no_django, *(arg.format(**exported) for arg in args))
    assert done.returncode == 2, done
    assert needle in done.stderr and done.stdout == ""


def test_the_documented_short_verifier_agrees(no_django: dict[str, str], exported: dict[str, Any]) -> None:
    doc = (ROOT / "docs" / "audit-trail.md").read_text(encoding="utf-8")
    script = exported["dir"] / "verify_trail.py"
    script.write_text("# verify_trail.py" + doc.split("```python\n# verify_trail.py")[1].split("```")[0])
    command = [sys.executable, script, exported["trail"], exported["checkpoints"], exported["key"]]
    done = subprocess.run(command, env=no_django, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, f"OK: 5 events, head {exported['records'][-1].hash}\n")
    trail: Path = exported["trail"]
    lines = trail.read_bytes().splitlines(keepends=True)
    trail.write_bytes(b"".join([lines[0], lines[2], lines[1], *lines[3:]]))
    done = subprocess.run(command, env=no_django, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stderr == "FAILED at seq 2: found seq 3\n"
    trail.write_bytes(b"".join(lines[:4]))
    done = subprocess.run(command, env=no_django, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "a checkpoint covers 5 events, the trail holds 4" in done.stderr

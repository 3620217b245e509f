"""Export lines from stored rows: the columns' values, so an edited column fails any verifier of the export."""

import json
from datetime import UTC, datetime

from audits.ledger.export import export_line
from audits.ledger.hashing import GENESIS_PREV, format_ts, join_line, seal
from audits.ledger.verify import verify_lines

TS = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _row(seq: int = 1, prev: str = GENESIS_PREV) -> tuple:
    sealed = seal(seq=seq, ts=TS, actor="user:17", action="a.b", object="registry.model:1", data={"x": 1}, prev=prev)
    return (sealed.body, sealed.hash, seq, prev, format_ts(TS), "user:17", "a.b", "registry.model:1")


def test_a_row_whose_columns_agree_exports_its_stored_bytes():
    row = _row()
    assert export_line(row) == join_line(row[0], row[1]) == export_line(row[:2])
    assert verify_lines([export_line(row)]).ok


def test_an_edited_column_is_what_the_line_says_and_the_line_fails():
    row = list(_row())
    row[6] = "forged.action"
    line = export_line(tuple(row))
    assert json.loads(line)["action"] == "forged.action"
    result = verify_lines([line])
    assert (result.ok, result.bad_seq, result.code) == (False, 1, "hash_mismatch")


def test_a_body_that_is_no_record_gives_a_line_no_verifier_accepts():
    first = _row()
    second = (b"not json", "ab" * 32, 2, first[1], format_ts(TS), "user:17", "a.b", "")
    lines = [export_line(first), export_line(second)]
    assert json.loads(lines[1])["stored_body_hex"] == b"not json".hex()
    result = verify_lines(lines)
    assert (result.ok, result.bad_seq, result.code) == (False, 2, "malformed")

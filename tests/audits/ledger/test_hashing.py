"""The record format: canonical bytes, NFC, value checks and export lines."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from audits.ledger.hashing import (
    GENESIS_PREV,
    RECORD_KEYS,
    RECORD_VERSION,
    SealedRecord,
    canonical,
    format_ts,
    join_line,
    normalise,
    prepare,
    seal,
    sha256_hex,
    split_line,
)

TS = "2026-11-23T10:00:00.123456Z"
# Written out by hand from RFC 8785: keys sorted, no whitespace, 0.91 as ECMAScript prints it.
KNOWN_BODY = (
    b'{"action":"approval.decided","actor":"user:17",'
    b'"data":{"decision":"approved","metrics":{"auc":0.91}},'
    b'"object":"governance.approval:42",'
    b'"prev":"0000000000000000000000000000000000000000000000000000000000000000",'
    b'"seq":1,"ts":"2026-11-23T10:00:00.123456Z","v":1}'
)


def _seal(**overrides: Any) -> SealedRecord:
    fields: dict[str, Any] = {
        "seq": 1,
        "ts": TS,
        "actor": "user:17",
        "action": "approval.decided",
        "object": "governance.approval:42",
        "data": {"decision": "approved", "metrics": {"auc": 0.91}},
        "prev": GENESIS_PREV,
    }
    return seal(**{**fields, **overrides})


def test_constants() -> None:
    assert RECORD_VERSION == 1
    assert GENESIS_PREV == "0" * 64
    assert sorted(RECORD_KEYS) == ["action", "actor", "data", "hash", "object", "prev", "seq", "ts", "v"]


def test_known_record_has_hand_checked_canonical_bytes_and_hash() -> None:
    sealed = _seal()
    assert sealed.body == KNOWN_BODY
    assert sealed.hash == hashlib.sha256(KNOWN_BODY).hexdigest()
    assert sealed.hash == "41a0270eab17373d11ffbb127b3829e1ee0270719c32458e36491fe3a53487c4"


def test_line_is_the_canonical_full_record() -> None:
    sealed = _seal()
    record = {**_record_of(sealed.body), "hash": sealed.hash}
    assert sealed.line() == canonical(record)
    assert sealed.line().count(b'"hash":') == 1
    assert b"\n" not in sealed.line()


def test_canonical_follows_rfc8785_for_numbers_and_key_order() -> None:
    assert canonical({"b": 1.0, "a": [1e21, -0.0, 1e-7], "é": None}) == '{"a":[1e+21,0,1e-7],"b":1,"é":null}'.encode()


def test_sha256_hex_is_lowercase_hex() -> None:
    assert sha256_hex(b"abc") == hashlib.sha256(b"abc").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", sha256_hex(b""))


def test_decomposed_and_composed_text_hash_the_same() -> None:
    composed = _seal(data={"caf\u00e9": "r\u00e9sum\u00e9"}, actor="user:\u00e9")
    decomposed = _seal(data={"cafe\u0301": "re\u0301sume\u0301"}, actor="user:e\u0301")
    assert decomposed.hash == composed.hash
    assert "café".encode() in decomposed.body


def test_keys_equal_after_nfc_are_rejected() -> None:
    with pytest.raises(ValueError, match="NFC"):
        normalise({"caf\u00e9": 1, "cafe\u0301": 2})


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"metrics": {"auc": math.nan}}, "data.metrics.auc"),
        ({"metrics": {"auc": math.inf}}, "data.metrics.auc"),
        ({"scores": [0.5, -math.inf]}, r"data.scores\[1\]"),
    ],
)
def test_nan_and_infinity_are_rejected_with_their_path(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ValueError, match=path):
        normalise(data)
    with pytest.raises(ValueError, match=path):
        _seal(data=data)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "data.when: unsupported type datetime"),
        ({"amount": Decimal("1.5")}, "data.amount: unsupported type Decimal"),
        ({"tags": {"a", "b"}}, "data.tags: unsupported type set"),
        ({"blob": b"x"}, "data.blob: unsupported type bytes"),
        ({"nested": {1: "x"}}, "data.nested: key 1 is a int"),
        ({"big": 2**53}, "data.big: integer 9007199254740992"),
        ({"text": "\ud800"}, "data.text: string contains a lone surrogate"),
    ],
)
def test_unsupported_values_are_rejected_with_their_path(value: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        normalise(value)


def test_normalise_returns_a_normalised_deep_copy() -> None:
    original = {"list": ("e\u0301", [1, True, None]), "inner": {"x": 1.5}}
    copy = normalise(original)
    assert copy == {"list": ["\u00e9", [1, True, None]], "inner": {"x": 1.5}}
    copy["inner"]["x"] = 2
    assert original["inner"]["x"] == 1.5
    assert original["list"][0] == "e\u0301"


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC), "2026-11-23T10:00:00.123456Z"),
        (datetime(2026, 11, 23, 10, 0, tzinfo=UTC), "2026-11-23T10:00:00.000000Z"),
        (datetime(2026, 11, 23, 1, 30, 5, 7, tzinfo=timezone(timedelta(hours=2))), "2026-11-22T23:30:05.000007Z"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05.000000Z"),
    ],
)
def test_format_ts_is_utc_with_six_microsecond_digits(dt: datetime, expected: str) -> None:
    assert format_ts(dt) == expected
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", format_ts(dt))


def test_format_ts_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_ts(datetime(2026, 11, 23, 10, 0))


def test_seal_accepts_an_aware_datetime() -> None:
    assert _seal(ts=datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)).body == KNOWN_BODY


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"seq": 0}, "seq must be an int >= 1"),
        ({"seq": True}, "seq must be an int >= 1"),
        ({"seq": "1"}, "seq must be an int >= 1"),
        ({"prev": "A" * 64}, "prev must be 64 lowercase hex"),
        ({"prev": "0" * 63}, "prev must be 64 lowercase hex"),
        ({"prev": "ab" * 32}, "GENESIS_PREV for seq 1"),
        ({"seq": 2}, "GENESIS_PREV for seq 1"),
        ({"actor": ""}, "actor must be a non-empty str"),
        ({"actor": None}, "actor must be a non-empty str"),
        ({"action": "  "}, "action must be a non-empty str"),
        ({"object": "no-colon"}, "object must be '' or 'app.model:pk'"),
        ({"object": None}, "object must be '' or 'app.model:pk'"),
        ({"data": ["not", "a", "dict"]}, "data must be a dict"),
        ({"ts": datetime(2026, 11, 23, 10, 0)}, "timezone-aware"),
        ({"ts": "2026-11-23T10:00:00Z"}, "ts must be"),
        ({"ts": "2026-13-23T10:00:00.000000Z"}, "ts must be"),
        ({"ts": "2026-11-23 10:00:00.000000+00:00"}, "ts must be"),
    ],
)
def test_seal_validates_its_inputs(overrides: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=re.escape(needle)):
        _seal(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {k: v}
        for k, v in (
            ("seq", 0),
            ("prev", "A" * 64),
            ("seq", 2),
            ("ts", "2026-11-23T10:00:00Z"),
            ("ts", datetime(2026, 11, 23, 10, 0)),
        )
    ],
)
def test_a_prepared_record_validates_like_seal(overrides: dict[str, Any]) -> None:
    fields = {"seq": 1, "ts": TS, "prev": GENESIS_PREV, **overrides}
    with pytest.raises(ValueError):
        prepare(actor="user:17", action="approval.decided", object="", data={}).seal(**fields)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"decision": "approved", "metrics": {"auc": 0.91}},
        {"é": "e\u0301", "n": [1, None, True, -0.0, 1e21, 2**53 - 1]},
        {"hash": "ab" * 32, "prev": "x", "v": 2, "seq": 9},
    ],
)
@pytest.mark.parametrize(("seq", "prev"), [(1, GENESIS_PREV), (2, "ab" * 32), (2**53 - 1, "cd" * 32)])
def test_a_prepared_record_seals_to_the_same_bytes_as_seal(data: dict[str, Any], seq: int, prev: str) -> None:
    """The append path builds the chain-independent bytes before it locks the chain; seal() is the reference."""
    when = datetime(2026, 11, 23, 10, 0, 0, 5, tzinfo=UTC)
    for ts in (TS, when):
        expected = _seal(seq=seq, prev=prev, ts=ts, data=data, object="")
        prepared = prepare(actor="user:17", action="approval.decided", object="", data=data)
        assert prepared.seal(seq=seq, ts=ts, prev=prev) == expected


def test_a_prepared_record_rejects_what_seal_rejects_in_its_members() -> None:
    for bad in ({"actor": ""}, {"object": "no-colon"}, {"data": {"x": math.nan}}):
        fields = {"actor": "user:17", "action": "a.b", "object": "", "data": {}, **bad}
        with pytest.raises(ValueError):
            prepare(**fields)


def test_seal_allows_an_empty_object_reference() -> None:
    assert b'"object":""' in _seal(object="").body


def test_sealed_record_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _seal().hash = "0" * 64  # type: ignore[misc]


TRICKY_DATA = [
    {},
    {"hash": "ab" * 32},
    {"inner": {"hash": "cd" * 32, "object": "x.y:1", "z": [{"hash": "ef" * 32}]}},
    {"text": ',"hash":"' + "0" * 64 + '","object":"', "note": "naïve — ünïcödé 😀 \u2028"},
    {"quote": 'a"b\\c\n', "k\u00e9y": [1, 2.5, None, False]},
]


@pytest.mark.parametrize("data", TRICKY_DATA)
def test_split_line_returns_exactly_the_hashed_body(data: dict[str, Any]) -> None:
    sealed = _seal(data=data, object='app.model:pk ,"hash":"x"')
    body, claimed = split_line(sealed.line())
    assert body == sealed.body
    assert body == canonical({k: v for k, v in _record_of(sealed.line()).items() if k != "hash"})
    assert claimed == sealed.hash == sha256_hex(body)


@pytest.mark.parametrize("data", TRICKY_DATA)
def test_join_line_inverts_split_line(data: dict[str, Any]) -> None:
    sealed = _seal(data=data)
    assert join_line(sealed.body, sealed.hash) == canonical({**_record_of(sealed.body), "hash": sealed.hash})


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"{}",
        KNOWN_BODY,
        KNOWN_BODY.replace(b',"object":', b',"hash":"' + b"A" * 64 + b'","object":'),
        KNOWN_BODY.replace(b',"object":', b',"hash":"' + b"a" * 63 + b'","object":'),
        KNOWN_BODY.replace(b',"prev":', b',"hash":"' + b"a" * 64 + b'","prev":'),
    ],
)
def test_split_line_rejects_lines_without_a_top_level_hash(line: bytes) -> None:
    with pytest.raises(ValueError, match="hash"):
        split_line(line)


def _record_of(raw: bytes) -> dict[str, Any]:
    return json.loads(raw)


def test_the_documented_worked_example_is_what_the_code_produces() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "audit-trail.md").read_text(encoding="utf-8")
    first = _seal()
    second = _seal(
        seq=2,
        ts="2026-11-23T10:00:01.000000Z",
        actor="service:ci-main",
        action="model.registered",
        object="registry.modelversion:7",
        data={"name": "Café scorer", "version": "1.0.0"},
        prev=first.hash,
    )
    for text in (first.body, first.line(), second.body, second.line()):
        assert text.decode() in doc
    assert f"with hash `{second.hash}`" in doc
    assert f"```text\n{first.hash}\n```" in doc


def test_data_nested_deeper_than_the_database_takes_is_refused_before_it_is_hashed():
    from audits.ledger.hashing import MAX_DATA_DEPTH, prepare

    def nested(levels: int) -> dict:
        value: dict = {}
        for _ in range(levels):
            value = {"a": value}
        return value

    prepare(actor="system", action="test.event", object="", data=nested(MAX_DATA_DEPTH - 1))
    with pytest.raises(ValueError, match="nested 256 levels deep"):
        prepare(actor="system", action="test.event", object="", data=nested(MAX_DATA_DEPTH))

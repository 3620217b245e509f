"""The service's faster record parser must read every body exactly as the standalone verifier does."""

from __future__ import annotations

import hashlib
import random

import pytest

from audits.ledger.fastjson import parse_record
from audits.ledger.hashing import GENESIS_PREV, seal
from audits.ledger.verify import ChainVerifier, parse_json

SEALED = seal(
    seq=1,
    ts="2026-11-23T10:00:00.000000Z",
    actor="user:1",
    action="approval.decided",
    object="registry.approvalrequest:1",
    data={"digest": "ab" * 32, "ratio": 0.8125, "n": 9007199254740991, "text": "Zoë ☃ \U0001f600", "nested": [{}, []]},
    prev=GENESIS_PREV,
).body

BODIES = [
    SEALED,
    b"{}",
    b'{"a":1,"a":2}',
    b'{"b":1,"a":2,"b":3}',
    b' {"a":1}',
    b'{"a":1} ',
    b'{"a":1}\n',
    b'{"a":1}{"b":2}',
    b'{"a":1,}',
    b'{"a" : [ 1 , 2 ] }',
    b'{"a":123456789012345678901234567890}',
    b'{"a":-18446744073709551616}',
    b'{"a":18446744073709551615}',
    b'{"a":"\\ud800"}',
    b'{"a":"\\udc00\\ud800"}',
    b'{"a":"\\ud83d\\ude00"}',
    b'{"a":"\\u0000"}',
    b'{"a":"\x01"}',
    b'{"a":"\t"}',
    b'{"a":"\n"}',
    b'{"a":"\x7f"}',
    b'{"a":"\xff"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{\xef\xbb\xbf"a":1}',
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":1e400}',
    b'{"a":-1e400}',
    b'{"a":4.9e-324}',
    b'{"a":2.2250738585072011e-308}',
    b'{"a":0.1000000000000000055511151231257827}',
    b'{"a":1.7976931348623157e308}',
    b'{"a":-0}',
    b'{"a":-0.0}',
    b'{"a":1.0}',
    b'{"a":1E2}',
    b'{"a":01}',
    b'{"a":1.}',
    b'{"a":.5}',
    b'{"a":-}',
    b'{"a":+1}',
    b'{"a":0x10}',
    b'{"a":true,"b":false,"c":null}',
    b'{"a":True}',
    b"{'a':1}",
    b'{"a":"\\x41"}',
    b'{"a":"\\/\\b\\f\\n\\r\\t\\"\\\\"}',
    b'{"a":"\\u00e9","\\u0065\\u0301":1}',
    b'{"a":' + b"[" * 200 + b"]" * 200 + b"}",
    b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"a":' + b"[" * 5000 + b"}",
    b"{",
    b"}",
    b"{}}",
    b"[1]",
    b'"{}"',
    b"",
]


# orjson reads integers beyond 64 bits as floats; the verifier never trusts that (see fastjson.py).
BIG_INTS = {b'{"a":123456789012345678901234567890}', b'{"a":-18446744073709551616}'}


def outcome(parse, body: bytes) -> tuple[str, str]:
    try:
        return "ok", repr(parse(body))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_fast_parser_reads_bodies_as_the_standalone_one_does(body: bytes) -> None:
    if body in BIG_INTS:
        assert parse_record(body)["a"] == float(parse_json(body)["a"])
    else:
        assert outcome(parse_record, body) == outcome(parse_json, body)


def test_it_reads_a_sealed_record() -> None:
    assert parse_record(SEALED)["data"]["text"] == "Zoë ☃ \U0001f600"


TAIL = b'"seq":1,"ts":"2026-11-23T10:00:00.000000Z","v":1}'
VARIANTS = [
    SEALED,
    SEALED.replace(b'"seq":1,', b'"seq":123456789012345678901234567890,'),
    SEALED.replace(b'"seq":1,', b'"seq":18446744073709551617,'),
    SEALED.replace(b'"seq":1,', b'"seq":1.0,'),
    SEALED.replace(b'"seq":1,', b'"seq":"1",'),
    SEALED.replace(b'"seq":1,', b'"seq":true,'),
    SEALED.replace(b'"seq":1,', b'"seq":2,"seq":1,'),
    SEALED.replace(b'"seq":1,', b'"seq":1,"seq":2,'),
    SEALED.replace(b'"v":1}', b'"v":18446744073709551617}'),
    SEALED.replace(b'"v":1}', b'"v":1.0}'),
    SEALED.replace(b'"v":1}', b'"v":1,"x":null}'),
    SEALED.replace(b'"prev":"0', b'"prev":"\\u0030'),
    SEALED.replace(b'"prev":"0', b'"prev":"\\ud800'),
    SEALED.replace(b'"n":9007199254740991', b'"n":123456789012345678901234567890'),
    SEALED.replace(b'"n":9007199254740991', b'"n":NaN'),
    SEALED.replace(b'"text":"', b'"text":"\\ud800'),
    b" " + SEALED,
    SEALED + b" ",
    SEALED + b"\n",
    SEALED[:-1] + b",}",
]


@pytest.mark.parametrize("body", VARIANTS, ids=range(len(VARIANTS)))
def test_both_parsers_give_the_verifier_the_same_verdict(body: bytes) -> None:
    assert TAIL in SEALED
    results = []
    for parse in (parse_json, parse_record):
        verifier = ChainVerifier(parse=parse)
        verifier.feed(body, hashlib.sha256(body).hexdigest())
        results.append(verifier.result())
    assert results[0] == results[1]


def test_random_damage_to_a_record_is_read_alike() -> None:
    # Seeded byte edits of a sealed record: every damaged body is accepted or refused alike.
    rng = random.Random(20261123)
    alphabet = b'{}[]",:\\ 0123456789.eE+-tfnulrax\x00\x01\t\n\x7f\x80\xc3\xa9\xed\xa0\xff/bdNIy'
    for _ in range(3000):
        body = bytearray(SEALED)
        for _ in range(rng.randint(1, 3)):
            at, byte = rng.randrange(len(body)), rng.choice(alphabet)
            edit = rng.choice(("replace", "insert", "delete"))
            if edit == "replace":
                body[at] = byte
            elif edit == "insert":
                body.insert(at, byte)
            else:
                del body[at]
        assert outcome(parse_record, bytes(body)) == outcome(parse_json, bytes(body)), bytes(body)

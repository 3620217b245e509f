"""The database refuses a row that does not extend the chain's head, so a role that can only INSERT cannot
stop later appends or checkpoints. SQLite checks seq and prev; PostgreSQL also the hash and the columns."""

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audits.ledger.hashing import MAX_DATA_DEPTH, canonical, seal, sha256_hex
from audits.models import AuditEvent
from audits.selectors import audit_trail_verify
from audits.services import audit_event_append, checkpoint_create

pytestmark = pytest.mark.django_db

INSERT = (
    "INSERT INTO audits_auditevent (seq, ts, actor, action, object_ref, prev, hash, body) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _forged(seq: int, prev: str, *, actor: str = "user:9", data: dict | None = None):
    """A row sealed as the service would, for the given place in the chain."""
    now = timezone.now()
    sealed = seal(seq=seq, ts=now, actor=actor, action="forged.event", object="", data=data or {}, prev=prev)
    return [seq, now, actor, "forged.event", "", prev, sealed.hash, sealed.body]


def _insert(row) -> str | None:
    """The error the database answers with, or None when it took the row."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(INSERT, row)
    except IntegrityError as exc:
        return str(exc)
    return None


def _head() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()


def _the_trail_still_works(size: int) -> None:
    audit_event_append(actor="system", action="test.after")
    assert checkpoint_create().size == size + 1
    assert audit_trail_verify().ok


def test_a_row_that_skips_a_seq_or_links_elsewhere_is_refused():
    for _ in range(3):
        audit_event_append(actor="system", action="test.event")
    head = _head()
    assert "does not extend the head" in _insert(_forged(head.seq + 2, head.hash))
    assert "does not extend the head" in _insert(_forged(head.seq + 1, AuditEvent.objects.get(seq=2).hash))
    assert "does not extend the head" in _insert(_forged(1, "0" * 64))
    assert AuditEvent.objects.count() == 3
    _the_trail_still_works(3)


def test_the_first_row_must_be_seq_1_on_the_genesis_value():
    assert "does not extend the head" in _insert(_forged(2, "1" * 64))
    _the_trail_still_works(0)


def test_a_row_that_extends_the_head_properly_is_taken():
    # An INSERT-only role can still append a well-formed event: that is appending, which it is allowed.
    audit_event_append(actor="system", action="test.event")
    assert _insert(_forged(2, _head().hash)) is None
    assert audit_trail_verify().ok


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite cannot compute SHA-256 or read JSON in a trigger (docs/audit-trail.md)")


def _rehashed(row, body: bytes):
    row[6], row[7] = sha256_hex(body), body
    return row


@pytest.mark.postgres
@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda row: row.__setitem__(6, "e" * 64), id="hex-shaped-wrong-hash"),
        pytest.param(lambda row: row.__setitem__(6, "not a hash"), id="non-hex-hash"),
        pytest.param(lambda row: row.__setitem__(7, row[7].replace(b"forged", b"edited")), id="body-not-its-hash"),
        pytest.param(lambda row: row.__setitem__(2, "user:1"), id="actor-column"),
        pytest.param(lambda row: row.__setitem__(3, "model.registered"), id="action-column"),
        pytest.param(lambda row: row.__setitem__(4, "registry.model:1"), id="object-column"),
        pytest.param(lambda row: row.__setitem__(1, row[1].replace(year=2020)), id="ts-column"),
        pytest.param(lambda row: _rehashed(row, row[7].replace(b'"data":{}', b'"data":[]')), id="data-not-an-object"),
        pytest.param(lambda row: _rehashed(row, row[7].replace(b'"data":{}', b'"data":{')), id="data-not-json"),
        pytest.param(lambda row: _rehashed(row, b" " + row[7]), id="body-not-canonical"),
        pytest.param(
            lambda row: _rehashed(row, row[7].replace(b'"data":{}', b'"data":{"a":' + b"[" * 300 + b"]" * 300 + b"}")),
            id="data-too-deep",
        ),
        pytest.param(
            lambda row: _rehashed(row, canonical({**_record(row), "v": 2})),
            id="record-version",
        ),
    ],
)
def test_postgres_refuses_a_row_whose_hash_or_columns_do_not_match_its_body(postgres_only, forge):
    audit_event_append(actor="system", action="test.event")
    row = _forged(2, _head().hash)
    forge(row)
    assert "refused event seq 2" in _insert(row)
    assert AuditEvent.objects.count() == 1
    _the_trail_still_works(1)


def _record(row) -> dict:
    return json.loads(row[7])


@pytest.mark.postgres
def test_postgres_takes_what_the_service_writes_at_any_escaping(postgres_only):
    # JCS escapes exactly what PostgreSQL's to_json escapes; the trigger rebuilds the columns that way.
    audit_event_append(actor='we"ird\\actor\x01é', action="test.event", data={"nul": "\x00", "x": [1.5, {"y": None}]})
    audit_event_append(actor="user:1", action="test.event", object_ref="registry.model:ü-1")
    deepest: dict = {}
    for _ in range(MAX_DATA_DEPTH - 1):  # the deepest data the service hashes, the trigger takes
        deepest = {"a": deepest}
    audit_event_append(actor="user:1", action="test.event", data=deepest)
    assert audit_trail_verify().ok

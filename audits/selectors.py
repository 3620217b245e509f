"""Reads of the audit trail: streaming, verification and export, all in constant memory."""

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils.html import format_html

from audits.highwater import HighWater, HighWaterUnreadable, state_read
from audits.keys import verification_keys
from audits.ledger.export import export_line
from audits.ledger.fastjson import parse_record
from audits.ledger.hashing import GENESIS_PREV, format_ts
from audits.ledger.verify import ChainVerifier, VerifyResult
from audits.models import AuditEvent, Checkpoint, PersonalRecord
from audits.services import actor_for
from core.permissions import reads_everything
from core.request_context import current_reader

CHUNK = 1000
MAX_SEQ = 2**63 - 1


# What a stored event is read as: (body, hash, *STORED_COLUMNS), the timestamp written as the record writes it.
_CHAIN_SQL = (
    "SELECT body, hash, seq, prev, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "actor, action, object_ref FROM audits_auditevent WHERE seq >= %s AND seq <= %s ORDER BY seq"
)
# As text: Django's converter would raise on a timestamp a DBA garbled, rather than let verification name it.
_SQLITE_CHAIN_SQL = (
    "SELECT body, hash, seq, prev, CAST(ts AS TEXT), actor, action, object_ref FROM audits_auditevent "
    "WHERE seq >= %s AND seq <= %s ORDER BY seq"
)


def stored_chain(*, from_seq: int = 1, to_seq: int | None = None) -> Iterator[tuple]:
    """Every stored column of each event in the range, in seq order: what verification checks."""
    if connection.vendor == "postgresql":
        yield from _binary_chain(from_seq, to_seq)
        return
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_CHAIN_SQL, [from_seq, MAX_SEQ if to_seq is None else to_seq])
        while rows := cursor.fetchmany(CHUNK):
            for body, digest, seq, prev, ts, *labels in rows:
                yield (bytes(body), digest, seq, prev, _sqlite_ts(ts), *labels)


def _sqlite_ts(stored) -> str:
    """SQLite keeps Django's text form of the UTC time; Django's converter reads it as a datetime."""
    try:
        moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(stored)
        return format_ts(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (TypeError, ValueError):
        return stored  # not a timestamp at all: it cannot equal the record's, and verification says so


def _binary_chain(from_seq: int, to_seq: int | None) -> Iterator[tuple]:
    """One query whose rows stream in chunks, in binary: bodies arrive as bytes rather than hex text,
    and the server sends the next rows while the verifier checks these, without a round trip per batch
    (a named cursor's FETCHes took twice as long for a million events)."""
    # Chunks need libpq 17 (the binary wheel brings its own); older ones stream a row at a time.
    size = CHUNK if psycopg.capabilities.has_stream_chunked() else 1
    # Closing this generator early (a verification stopping at a bad event) cancels the query, which
    # fails the transaction: the savepoint keeps that from dooming a caller's work.
    with transaction.atomic(using=connection.alias):
        connection.ensure_connection()
        # Django's cursors bind parameters client-side, which rules out binary results.
        with psycopg.Cursor(connection.connection) as cursor:
            params = [from_seq, MAX_SEQ if to_seq is None else to_seq]
            yield from cursor.stream(_CHAIN_SQL, params, binary=True, size=size)


def stored_checkpoints() -> list[tuple[dict, str]]:
    return [
        (json.loads(bytes(body)), signature) for body, signature in Checkpoint.objects.values_list("body", "signature")
    ]


def audit_trail_verify() -> VerifyResult:
    """Verifies every stored event and every stored checkpoint against the service's key."""
    verifier = ChainVerifier(checkpoints=stored_checkpoints(), public_key=verification_keys(), parse=parse_record)
    with closing(stored_chain()) as events:
        verifier.feed_many(events)
    return verifier.result()


@dataclass(frozen=True)
class TrailHealth:
    ok: bool
    summary: str


def audit_trail_health() -> TrailHealth:
    """Cheap enough for every /healthz and admin page: the periodic job's last verification (the checkpoint
    job verifies everything before it signs) and a few index lookups on the head and the high-water mark."""
    try:
        state = state_read()
        problem = _head_problem(state.signed)
    except HighWaterUnreadable as exc:
        return TrailHealth(False, f"the audit trail cannot be checked: {exc}")
    last = state.last_check
    if problem:
        return TrailHealth(False, f"the audit trail does not verify: {problem}")
    if last and not last.get("ok"):
        reason = last.get("reason") or "no reason recorded"
        return TrailHealth(False, f"the audit trail does not verify (checked {last.get('at')}): {reason}")
    if not last:
        return TrailHealth(True, "head consistent; not yet verified in full by the periodic checkpoint job")
    return TrailHealth(True, f"verified {last.get('size')} events at {last.get('at')}; head consistent")


def _head_problem(signed: HighWater | None) -> str | None:
    """The newest event checked on its own (hash, shape, link, columns) and the high-water mark still covered."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    if signed and (head or 0) < signed.size:
        return f"it holds {head or 0} events, but {signed.size} were signed: its tail was cut"
    if head is None:
        return None
    seqs = [head - 1, head] + ([signed.size] if signed else [])
    rows = {event[2]: event for event in _rows(seqs)}
    if signed and (signed.size not in rows or rows[signed.size][1] != signed.head):
        return f"event {signed.size} is not the one signed at that size (head {signed.head}): history was replaced"
    before = rows.get(head - 1)
    if before is None and head != 1:
        return f"event {head - 1}, before the newest, is missing"
    verifier = ChainVerifier(after=(head - 1, before[1]) if before else (0, GENESIS_PREV), parse=parse_record)
    verifier.feed_many([rows[head]])
    result = verifier.result()
    return None if result.ok else f"at seq {result.bad_seq} ({result.code}): {result.reason}"


def _rows(seqs: list[int]) -> list[tuple]:
    found = []
    for seq in set(seqs):
        found.extend(stored_chain(from_seq=seq, to_seq=seq))
    return found


def export_lines(*, from_seq: int = 1, to_seq: int | None = None) -> Iterator[bytes]:
    for event in stored_chain(from_seq=from_seq, to_seq=to_seq):
        yield export_line(event, parse=parse_record) + b"\n"


def event_record(event: AuditEvent) -> dict:
    """What an event says is read from its hashed bytes, never from the filter columns."""
    return {**json.loads(bytes(event.body)), "hash": event.hash}


def checkpoint_record(checkpoint: Checkpoint) -> dict:
    return {
        **json.loads(bytes(checkpoint.body)),
        "signature": checkpoint.signature,
        "key_fingerprint": checkpoint.key_fingerprint,
    }


_PERSON = re.compile(r"user:([0-9]{1,18})")
ERASED = "erased person"


def subject_of(who) -> str:
    """The pseudonym a person (or a machine) goes by in the trail: a user row, or the id already in hand."""
    if who is None or isinstance(who, str):
        return who or "system"
    return actor_for(who)


def people_named(subjects: Iterable, reader) -> dict[str, str]:
    """How `reader` reads each person: by name where the reader is entitled to (readers of everything: officers,
    auditors, superusers), else by the pseudonym the trail holds. The one resolver of names: pages, queues, the
    review, the trail's admin all ask it; hashed events never hold its answer.

    A name is the person's full name, else the username from their personal record (audits.PersonalRecord, the
    table GDPR erasure empties), else their account's username. An erased person reads "erased person" (erasure
    leaves the account as `erased-<pk>` with no name, and no record). Services and "system" are not people and
    read as they are. Two queries for any number of subjects; none when there is nobody to name."""
    subjects = {subject_of(who) for who in subjects}
    named = {subject: subject for subject in subjects}
    pks = {int(match[1]): subject for subject in subjects if (match := _PERSON.fullmatch(subject))}
    if not pks or not reads_everything(reader):
        return named
    records = dict(
        PersonalRecord.objects.filter(subject__in=pks.values(), kind="username")
        .order_by("id")
        .values_list("subject", "text")
    )
    people = get_user_model().objects.filter(pk__in=pks).only("username", "first_name", "last_name")
    found = {person.pk: person for person in people}
    for pk, subject in pks.items():
        person = found.get(pk)
        if person is None:  # an account deleted outright: its record still names it, until erased
            named[subject] = records.get(subject, ERASED)
        elif person.get_username() == f"erased-{pk}":
            named[subject] = ERASED
        else:
            named[subject] = person.get_full_name() or records.get(subject) or person.get_username()
    return named


def person_named(who, reader) -> str:
    """One person's name for `reader`, remembered on the reader for the rest of the request."""
    cache = reader.__dict__.setdefault("_people_named", {}) if reader is not None else {}
    subject = subject_of(who)
    if subject not in cache:
        cache.update(people_named([subject], reader))
    return cache[subject]


def actor_names(actors: Iterable[str], reader) -> dict[str, str]:
    """The trail's admin: each actor as `Jane Doe (user:7)`, `erased person (user:7)`, or the pseudonym alone
    where the reader is not entitled to names or the actor is not a person."""
    names = people_named(actors, reader)
    return {actor: name if name == actor else f"{name} ({actor})" for actor, name in names.items()}


def person_shown(who, reader=None) -> str:
    """`who` as the admin shows it in a column or a read-only field: the name for the request's reader (or the
    one given), with the pseudonym beside it, which the trail is searched by."""
    subject = subject_of(who)
    name = person_named(subject, reader if reader is not None else current_reader())
    return subject if name == subject else format_html('<span class="person" title="{}">{}</span>', subject, name)

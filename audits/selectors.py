"""Reads of the audit trail: streaming, verification and export, all in constant memory."""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

from django.db import connection, transaction

from audits.keys import signing_key
from audits.ledger.fastjson import parse_record
from audits.ledger.hashing import join_line
from audits.ledger.verify import ChainVerifier, VerifyResult
from audits.models import AuditEvent, Checkpoint

CHUNK = 5000
MAX_SEQ = 2**63 - 1


def stored_chain(*, from_seq: int = 1, to_seq: int | None = None) -> Iterator[tuple[bytes, str]]:
    if connection.vendor == "postgresql":
        yield from _binary_chain(from_seq, to_seq)
        return
    rows = AuditEvent.objects.filter(seq__gte=from_seq)
    if to_seq is not None:
        rows = rows.filter(seq__lte=to_seq)
    for body, digest in rows.order_by("seq").values_list("body", "hash").iterator(chunk_size=CHUNK):
        yield bytes(body), digest


_CHAIN_SQL = "SELECT body, hash FROM audits_auditevent WHERE seq >= %s AND seq <= %s ORDER BY seq"


def _binary_chain(from_seq: int, to_seq: int | None) -> Iterator[tuple[bytes, str]]:
    """A server-side cursor in binary format: bodies arrive as bytes, not as hex text to decode,
    which is most of the cost of reading a million events through the ORM."""
    # A named cursor lives in a transaction; inside a caller's, a savepoint keeps an early close
    # of this generator (a verification stopping at a bad event) from dooming the caller's work.
    with transaction.atomic(using=connection.alias):
        connection.ensure_connection()
        with connection.connection.cursor(name=f"audit_chain_{id(object())}", binary=True) as cursor:
            cursor.execute(_CHAIN_SQL, [from_seq, MAX_SEQ if to_seq is None else to_seq])
            yield from _fetched_ahead(cursor)


def _fetched_ahead(cursor) -> Iterator[tuple[bytes, str]]:
    """Rows of a named cursor, the next batch fetched in a thread while the caller checks this one.

    Most of a fetch is waiting for the server to read and send the rows, and psycopg waits without
    holding the interpreter lock: the server's work overlaps the verifier's instead of adding to it.
    The cursor is used by one thread at a time, and the fetch in flight ends before the cursor closes.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-fetch") as fetcher:
        pending = fetcher.submit(cursor.fetchmany, CHUNK)
        try:
            while batch := pending.result():
                pending = fetcher.submit(cursor.fetchmany, CHUNK)
                yield from batch
        finally:
            pending.cancel()


def stored_checkpoints() -> list[tuple[dict, str]]:
    return [
        (json.loads(bytes(body)), signature) for body, signature in Checkpoint.objects.values_list("body", "signature")
    ]


def audit_trail_verify() -> VerifyResult:
    """Verifies every stored event and every stored checkpoint against the service's key."""
    verifier = ChainVerifier(
        checkpoints=stored_checkpoints(), public_key=signing_key().public_key(), parse=parse_record
    )
    with closing(stored_chain()) as events:
        verifier.feed_many(events)
    return verifier.result()


def export_lines(*, from_seq: int = 1, to_seq: int | None = None) -> Iterator[bytes]:
    for body, digest in stored_chain(from_seq=from_seq, to_seq=to_seq):
        yield join_line(body, digest) + b"\n"


def event_record(event: AuditEvent) -> dict:
    """What an event says is read from its hashed bytes, never from the filter columns."""
    return {**json.loads(bytes(event.body)), "hash": event.hash}


def checkpoint_record(checkpoint: Checkpoint) -> dict:
    return {
        **json.loads(bytes(checkpoint.body)),
        "signature": checkpoint.signature,
        "key_fingerprint": checkpoint.key_fingerprint,
    }

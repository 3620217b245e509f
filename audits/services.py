"""Writes to the audit trail. Every state change in the service calls audit_event_append
inside its own transaction, so the change and its event commit or roll back together."""

import hashlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from audits.highwater import HighWater, HighWaterUnreadable, TrailState, state_path, state_read, state_write
from audits.keys import fingerprint, signing_key
from audits.ledger.hashing import GENESIS_PREV, canonical, format_ts, prepare
from audits.ledger.signing import checkpoint_body, sign_checkpoint
from audits.models import AuditEvent, Checkpoint, PersonalRecord
from core.models import IdempotencyRecord
from core.request_context import current_request_id

# Any constant works; it names "the audit chain" among PostgreSQL advisory locks.
CHAIN_LOCK_KEY = 0x5645524954590001


def actor_for(user) -> str:
    """A stable pseudonymous id: the chain never holds a name."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "system"
    account = getattr(user, "service_account", None)
    return f"service:{account.name}" if account else f"user:{user.pk}"


def object_ref(instance) -> str:
    """How an event names a row. A model that moved between apps keeps the name the trail already uses."""
    label = getattr(instance, "trail_label", None) or f"{instance._meta.app_label}.{instance._meta.model_name}"
    return f"{label}:{instance.pk}"


_AFTER_APPEND = []


def after_append(hook) -> None:
    """Registers a hook on every appended event, inside its transaction (the webhook outbox).
    Explicit rather than a signal: every event passes through audit_event_append, bulk or not.

    A hook is a function of the action that runs before the chain is locked and returns either
    None (nothing to do for this event) or a function of the new event, run after its insert.
    The slow part of a hook (finding subscribers) thus stays out of the serialised section."""
    if hook not in _AFTER_APPEND:
        _AFTER_APPEND.append(hook)


_AFTER_CHECKPOINT = []


def after_checkpoint(hook) -> None:
    """Registers a function of each new checkpoint, run inside its transaction (webhooks publish it, so
    copies of what was signed exist outside the service)."""
    if hook not in _AFTER_CHECKPOINT:
        _AFTER_CHECKPOINT.append(hook)


def _lock_chain() -> None:
    # Serialise appends for the rest of the transaction. SQLite needs nothing here: its
    # connections open transactions with BEGIN IMMEDIATE (settings), one writer at a time.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


_HEAD_SQL = "SELECT seq, hash FROM audits_auditevent ORDER BY seq DESC LIMIT 1"
# One round trip for the lock and the head. They must stay two statements: under READ COMMITTED
# each statement takes its snapshot when it starts, so only a read that starts after the lock is
# granted sees the previous holder's commit.
_LOCK_AND_HEAD_SQL = f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY}); {_HEAD_SQL}"
_INSERT_SQL = (
    "INSERT INTO audits_auditevent (seq, ts, actor, action, object_ref, prev, hash, body) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _lock_and_read_head(cursor) -> tuple[int, str]:
    if connection.vendor == "postgresql":
        cursor.execute(_LOCK_AND_HEAD_SQL)
        cursor.nextset()
    else:
        cursor.execute(_HEAD_SQL)
    last = cursor.fetchone()
    return (last[0] + 1, last[1]) if last else (1, GENESIS_PREV)


def audit_event_append(*, actor: str, action: str, object_ref: str = "", data: dict[str, Any] | None = None):
    payload = dict(data or {})
    request_id = current_request_id()
    if request_id and "request_id" not in payload:
        payload["request_id"] = request_id
    # Everything that does not depend on the chain's head happens before the lock is taken: the
    # lock is held until COMMIT, so its section is kept to two round trips and a hash.
    prepared = prepare(actor=actor, action=action, object=object_ref, data=payload)
    pending = [hook for hook in (h(action) for h in _AFTER_APPEND) if hook is not None]
    with transaction.atomic():
        with connection.cursor() as cursor:
            seq, prev = _lock_and_read_head(cursor)
            now = timezone.now()
            sealed = prepared.seal(seq=seq, ts=now, prev=prev)
            # The columns hold the values as hashed (NFC): the database checks that they match the body.
            row = (seq, now, prepared.actor, prepared.action, prepared.object, prev, sealed.hash, sealed.body)
            cursor.execute(_INSERT_SQL, row)
        event = AuditEvent(*row)
        event._state.adding, event._state.db = False, connection.alias
        for hook in pending:
            hook(event)
        return event


def personal_digest(salt: str, text: str) -> str:
    return hashlib.sha256((salt + text).encode("utf-8")).hexdigest()


def personal_record_store(*, subject: str, kind: str, text: str) -> str:
    """Keeps personal text outside the chain; returns the salted digest an event refers to."""
    salt = secrets.token_hex(16)
    digest = personal_digest(salt, text)
    PersonalRecord.objects.create(subject=subject, kind=kind, text=text, salt=salt, digest=digest)
    return digest


@transaction.atomic
def person_erase(*, subject: str, actor: str) -> AuditEvent:
    """GDPR Art. 17: deletes the person's records beside the chain; the chain itself still verifies."""
    records = PersonalRecord.objects.filter(subject=subject)
    digests = sorted(records.values_list("digest", flat=True))
    records.delete()
    if subject.startswith("user:"):
        _anonymise_user(int(subject.split(":", 1)[1]))
    return audit_event_append(
        actor=actor,
        action="person.erased",
        object_ref="",
        data={"subject": subject, "records_erased": len(digests), "digests": digests},
    )


def _anonymise_user(pk: int) -> None:
    # A stored response, replayed for its idempotency key, may quote what they wrote (a statement).
    IdempotencyRecord.objects.filter(user_id=pk).delete()
    user = get_user_model().objects.filter(pk=pk).first()
    if user is None:
        return
    user.username, user.email, user.first_name, user.last_name = f"erased-{pk}", "", "", ""
    user.is_active = False
    user.set_unusable_password()
    user.save()


class ChainBroken(Exception):
    """The stored chain fails verification, or is not the history already signed: the service will not sign it."""


@transaction.atomic
def checkpoint_create():
    """Signs the current head, after verifying the whole stored chain and checking that it extends the
    high-water mark (what was signed before, kept outside the database), so that neither a tampered
    history nor a shorter one is ever endorsed. Every run records its verdict beside the mark, which
    /healthz and the admin read. Returns None on an empty trail."""
    from audits.selectors import audit_trail_verify

    _lock_chain()
    try:
        state = state_read()
    except HighWaterUnreadable as exc:
        raise ChainBroken(str(exc)) from exc
    result = audit_trail_verify()
    problem = _unsignable(result, state.signed)
    check = {**result.to_json(), "at": format_ts(timezone.now()), "ok": problem is None, "reason": problem}
    if problem:
        state_write(TrailState(signed=state.signed, last_check=check))
        raise ChainBroken(problem)
    checkpoint = _checkpoint_at(result) if result.size else None
    signed = state.signed
    if checkpoint is not None and (signed is None or checkpoint.size > signed.size):
        signed = HighWater(size=checkpoint.size, head=checkpoint.head)
    state_write(TrailState(signed=signed, last_check=check))
    return checkpoint


def _unsignable(result, signed: HighWater | None) -> str | None:
    if not result.ok:
        return f"audit trail fails verification at seq {result.bad_seq}: {result.reason}"
    if signed is None:
        return None
    if result.size < signed.size:
        return (
            f"the audit trail holds {result.size} events, but the service has already signed {signed.size} "
            f"(head {signed.head}; high-water file {state_path()}): its tail was cut, and a shorter history "
            "is never signed. Restore the events from a backup (only if this database was replaced on purpose, "
            "move the high-water file away)"
        )
    at_mark = AuditEvent.objects.filter(seq=signed.size).values_list("hash", flat=True).first()
    if at_mark != signed.head:
        return (
            f"event {signed.size} has hash {at_mark}, but the service signed head {signed.head} at that size "
            f"(high-water file {state_path()}): the history was replaced, and another history is never signed"
        )
    return None


def _checkpoint_at(result) -> Checkpoint:
    existing = Checkpoint.objects.filter(size=result.size).first()
    if existing:
        return existing
    key, now = signing_key(), timezone.now()
    body = checkpoint_body(size=result.size, head=result.head, ts=now)
    checkpoint = Checkpoint.objects.create(
        size=result.size,
        head=result.head,
        ts=now,
        body=canonical(body),
        signature=sign_checkpoint(key, body),
        key_fingerprint=fingerprint(key),
    )
    for hook in _AFTER_CHECKPOINT:
        hook(checkpoint)
    return checkpoint

"""Tools for tests that play the attacker with direct access to the database."""

import json

from django.db import connection

from audits.ledger.hashing import canonical, sha256_hex
from audits.models import AuditEvent


def as_db_superuser(sql: str, params=()) -> None:
    """Runs SQL past the append-only triggers, as only a database superuser could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")


def record(seq: int) -> dict:
    return json.loads(bytes(AuditEvent.objects.get(seq=seq).body))


def rewrite(seq: int, record_body: dict, *, rehash: bool) -> str:
    """Stores new bytes for an event; with rehash, a hash that matches them, and the columns beside them
    made to agree, as a thorough forger would. Returns the hash."""
    body = canonical(record_body)
    if not rehash:
        digest = AuditEvent.objects.get(seq=seq).hash
        as_db_superuser("UPDATE audits_auditevent SET body = %s WHERE seq = %s", [body, seq])
        return digest
    digest = sha256_hex(body)
    labels = [record_body[key] for key in ("actor", "action", "object", "prev")]
    as_db_superuser(
        "UPDATE audits_auditevent SET body = %s, hash = %s, actor = %s, action = %s, object_ref = %s, prev = %s "
        "WHERE seq = %s",
        [body, digest, *labels, seq],
    )
    return digest

"""The database refuses an event that does not extend the chain's head (docs/audit-trail.md).

A role that may only INSERT could otherwise append a row with a wrong seq or prev, which stops every
later append, or one whose hash does not match its body, which stops every checkpoint for good: the
trail is append-only, so nobody could remove it. On PostgreSQL the BEFORE INSERT trigger checks, in
order, under the chain's advisory lock (the one audits.services takes, so the head it reads is the
committed one):

1. seq is the head's seq + 1 (1 on an empty trail), prev is the head's hash (64 zeros for seq 1);
2. hash is the SHA-256 of the stored body;
3. the body is the canonical record the columns describe: it starts with action and actor and ends
   with object, prev, seq, ts and v exactly as RFC 8785 writes the columns' values (to_json escapes
   strings as JCS does), and what lies between is one JSON object, the data, nested less than
   MAX_DATA_DEPTH levels (deeper data would defeat the verifiers' parsers).

SQLite has no SHA-256 and no JSON parser to match ours, so there the trigger checks seq and prev only.
"""

from django.db import migrations

# audits.services.CHAIN_LOCK_KEY, written out: a migration must not change when that module does.
CHAIN_LOCK_KEY = 0x5645524954590001
MAX_DATA_DEPTH = 256  # audits.ledger.hashing.MAX_DATA_DEPTH, which refuses such data before it gets here
TS_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audits_event_extends_head() RETURNS trigger LANGUAGE plpgsql
    -- As its owner, so the head is read even for a role that may only INSERT; the path is fixed here.
    SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    head_seq bigint := 0;
    head_hash text := repeat('0', 64);
    prefix bytea;
    suffix bytea;
    data jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock({CHAIN_LOCK_KEY});
    SELECT seq, hash INTO head_seq, head_hash FROM audits_auditevent ORDER BY seq DESC LIMIT 1;
    IF NOT FOUND THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev IS DISTINCT FROM head_hash THEN
        RAISE EXCEPTION 'audit trail: refused event seq % with prev %: it does not extend the head (seq %, hash %)',
            NEW.seq, NEW.prev, head_seq, head_hash USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.hash IS DISTINCT FROM encode(sha256(NEW.body), 'hex') THEN
        RAISE EXCEPTION 'audit trail: refused event seq %: its hash is not the SHA-256 of its body', NEW.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    prefix := convert_to('{{"action":' || to_json(NEW.action)::text || ',"actor":' || to_json(NEW.actor)::text
        || ',"data":', 'UTF8');
    suffix := convert_to(',"object":' || to_json(NEW.object_ref)::text || ',"prev":"' || NEW.prev
        || '","seq":' || NEW.seq || ',"ts":"' || to_char(NEW.ts AT TIME ZONE 'UTC', {TS_FORMAT}) || '","v":1}}',
        'UTF8');
    IF prefix IS NULL OR suffix IS NULL OR length(NEW.body) < length(prefix) + length(suffix) + 2
        OR substring(NEW.body FROM 1 FOR length(prefix)) IS DISTINCT FROM prefix
        OR substring(NEW.body FROM length(NEW.body) - length(suffix) + 1) IS DISTINCT FROM suffix THEN
        RAISE EXCEPTION 'audit trail: refused event seq %: its body is not the canonical record of its columns '
            '(action, actor, object_ref, prev, seq, ts)', NEW.seq USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    BEGIN
        -- jsonb cannot hold \\u0000, which the record's JSON may; the stand-in keeps the structure.
        data := replace(convert_from(substring(NEW.body FROM length(prefix) + 1
            FOR length(NEW.body) - length(prefix) - length(suffix)), 'UTF8'), '\\u0000', '\\u0001')::jsonb;
    EXCEPTION WHEN data_exception OR syntax_error OR character_not_in_repertoire OR untranslatable_character THEN
        data := NULL;
    END;
    IF data IS NULL OR jsonb_typeof(data) <> 'object'
        OR jsonb_path_exists(data, 'strict $.**{{{MAX_DATA_DEPTH} to last}}') THEN
        RAISE EXCEPTION 'audit trail: refused event seq %: its data is not a JSON object nested under % levels',
            NEW.seq, {MAX_DATA_DEPTH} USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audits_auditevent_extends_head BEFORE INSERT ON audits_auditevent
    FOR EACH ROW EXECUTE FUNCTION audits_event_extends_head();
"""  # noqa: S608 (constants of this module, no input)

POSTGRES_DROP = """
DROP TRIGGER audits_auditevent_extends_head ON audits_auditevent;
DROP FUNCTION audits_event_extends_head();
"""

SQLITE_TRIGGER = """
CREATE TRIGGER audits_auditevent_extends_head BEFORE INSERT ON audits_auditevent
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audits_auditevent), 0) + 1
    OR NEW.prev IS NOT coalesce(
        (SELECT hash FROM audits_auditevent ORDER BY seq DESC LIMIT 1),
        '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN
    SELECT RAISE(ABORT, 'audit trail: refused an event that does not extend the head (seq or prev)');
END;
"""


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER, params=None)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER audits_auditevent_extends_head;", params=None)


class Migration(migrations.Migration):
    dependencies = [("audits", "0006_evidence_jobs_moved_to_evidence")]

    operations = [migrations.RunPython(install, uninstall)]

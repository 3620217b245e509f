"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the trail's tables, whoever asks.

Ordinary triggers do not fire under session_replication_role = replica, which only a
superuser may set: the test suite uses that to empty its tables between tests; the
application's own database user (see docs/audit-trail.md) cannot.
"""

from django.db import migrations

TABLES = ("audits_auditevent", "audits_checkpoint")

FUNCTION = """
CREATE OR REPLACE FUNCTION audits_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def _triggers(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audits_refuse_change();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audits_refuse_change();
"""


def _drop(table: str) -> str:
    return f"DROP TRIGGER {table}_no_update_delete ON {table}; DROP TRIGGER {table}_no_truncate ON {table};"


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(_triggers(table))


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(_drop(table))
    schema_editor.execute("DROP FUNCTION audits_refuse_change();")


class Migration(migrations.Migration):
    dependencies = [("audits", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]

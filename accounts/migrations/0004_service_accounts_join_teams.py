"""A service account may belong to teams (groups named `team:...`, core.teams): a team is ownership, not a
role, so it decides nothing. The triggers of 0002 keep refusing every other group but ci, and superuser.
Group names are written out: a migration is frozen in time."""

from django.db import migrations

ALLOWED = "g.name <> 'ci' AND substr(g.name, 1, 5) <> 'team:'"
BEFORE = "g.name <> 'ci'"

POSTGRES = """
CREATE OR REPLACE FUNCTION verity_service_account_groups() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.user_id)
       AND EXISTS (SELECT 1 FROM auth_group g WHERE g.id = NEW.group_id AND {refused}) THEN
        RAISE EXCEPTION 'a service account may hold only the ci role, and never superuser' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION verity_service_account_created() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM auth_user u WHERE u.id = NEW.user_id AND u.is_superuser)
       OR EXISTS (
           SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
           WHERE ug.user_id = NEW.user_id AND {refused}
       ) THEN
        RAISE EXCEPTION 'a service account may hold only the ci role, and never superuser' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

_SQLITE_GROUPS = """
WHEN EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.user_id)
 AND EXISTS (SELECT 1 FROM auth_group g WHERE g.id = NEW.group_id AND {refused})
BEGIN SELECT RAISE(ABORT, 'a service account may hold only the ci role, and never superuser'); END
"""
_SQLITE_CREATED = """
WHEN EXISTS (SELECT 1 FROM auth_user u WHERE u.id = NEW.user_id AND u.is_superuser)
  OR EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
             WHERE ug.user_id = NEW.user_id AND {refused})
BEGIN SELECT RAISE(ABORT, 'a service account may hold only the ci role, and never superuser'); END
"""
SQLITE = {
    "service_account_groups_insert": "BEFORE INSERT ON auth_user_groups" + _SQLITE_GROUPS,
    "service_account_groups_update": "BEFORE UPDATE ON auth_user_groups" + _SQLITE_GROUPS,
    "service_account_created_insert": "BEFORE INSERT ON governance_serviceaccount" + _SQLITE_CREATED,
    "service_account_created_update": "BEFORE UPDATE ON governance_serviceaccount" + _SQLITE_CREATED,
}


def _replace(schema_editor, refused: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES.format(refused=refused))
    elif vendor == "sqlite":
        for name, body in SQLITE.items():
            schema_editor.execute(f"DROP TRIGGER {name}")
            schema_editor.execute(f"CREATE TRIGGER {name} " + body.format(refused=refused))


def allow_teams(apps, schema_editor):
    _replace(schema_editor, ALLOWED)


def refuse_teams(apps, schema_editor):
    _replace(schema_editor, BEFORE)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_personal_tokens")]

    operations = [migrations.RunPython(allow_teams, refuse_teams)]

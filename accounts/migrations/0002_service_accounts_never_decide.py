"""The database itself refuses a service account any role but ci, and superuser status.

The admin form and the services refuse it first, with a clear message; these triggers also stop a shell,
a script or a bulk insert, whatever path the change takes. The allowed role is written out ('ci', as
core.roles.SERVICE_ACCOUNT_ROLES says today): a migration is frozen in time.
"""

from django.db import migrations

POSTGRES = """
CREATE FUNCTION verity_service_account_groups() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.user_id)
       AND (SELECT g.name FROM auth_group g WHERE g.id = NEW.group_id) <> 'ci' THEN
        RAISE EXCEPTION 'a service account may hold only the ci role, and never superuser' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER service_account_groups BEFORE INSERT OR UPDATE ON auth_user_groups
    FOR EACH ROW EXECUTE FUNCTION verity_service_account_groups();

CREATE FUNCTION verity_service_account_superuser() RETURNS trigger AS $$
BEGIN
    IF NEW.is_superuser AND EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.id) THEN
        RAISE EXCEPTION 'a service account may hold only the ci role, and never superuser' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER service_account_superuser BEFORE UPDATE ON auth_user
    FOR EACH ROW EXECUTE FUNCTION verity_service_account_superuser();

CREATE FUNCTION verity_service_account_created() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM auth_user u WHERE u.id = NEW.user_id AND u.is_superuser)
       OR EXISTS (
           SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
           WHERE ug.user_id = NEW.user_id AND g.name <> 'ci'
       ) THEN
        RAISE EXCEPTION 'a service account may hold only the ci role, and never superuser' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER service_account_created BEFORE INSERT OR UPDATE ON governance_serviceaccount
    FOR EACH ROW EXECUTE FUNCTION verity_service_account_created();
"""

POSTGRES_DROP = """
DROP TRIGGER service_account_groups ON auth_user_groups;
DROP FUNCTION verity_service_account_groups();
DROP TRIGGER service_account_superuser ON auth_user;
DROP FUNCTION verity_service_account_superuser();
DROP TRIGGER service_account_created ON governance_serviceaccount;
DROP FUNCTION verity_service_account_created();
"""

_SQLITE_GROUPS = """
WHEN EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.user_id)
 AND (SELECT g.name FROM auth_group g WHERE g.id = NEW.group_id) <> 'ci'
BEGIN SELECT RAISE(ABORT, 'a service account may hold only the ci role, and never superuser'); END
"""
_SQLITE_CREATED = """
WHEN EXISTS (SELECT 1 FROM auth_user u WHERE u.id = NEW.user_id AND u.is_superuser)
  OR EXISTS (SELECT 1 FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
             WHERE ug.user_id = NEW.user_id AND g.name <> 'ci')
BEGIN SELECT RAISE(ABORT, 'a service account may hold only the ci role, and never superuser'); END
"""
SQLITE = [
    "CREATE TRIGGER service_account_groups_insert BEFORE INSERT ON auth_user_groups" + _SQLITE_GROUPS,
    "CREATE TRIGGER service_account_groups_update BEFORE UPDATE ON auth_user_groups" + _SQLITE_GROUPS,
    "CREATE TRIGGER service_account_superuser BEFORE UPDATE OF is_superuser ON auth_user"
    " WHEN NEW.is_superuser AND EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.id)"
    " BEGIN SELECT RAISE(ABORT, 'a service account may hold only the ci role, and never superuser'); END",
    "CREATE TRIGGER service_account_created_insert BEFORE INSERT ON governance_serviceaccount" + _SQLITE_CREATED,
    "CREATE TRIGGER service_account_created_update BEFORE UPDATE ON governance_serviceaccount" + _SQLITE_CREATED,
]
SQLITE_TRIGGERS = [
    "service_account_groups_insert",
    "service_account_groups_update",
    "service_account_superuser",
    "service_account_created_insert",
    "service_account_created_update",
]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER {name}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create, drop)]

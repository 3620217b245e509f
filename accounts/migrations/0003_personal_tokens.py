"""People's personal API tokens, and three rules the database keeps whatever path a change takes:

- a service account never holds a personal token (nor does a person holding one become a service account);
- a token never outlives its owner's deactivation: when a user's is_active turns false, their live tokens are
  revoked, so reactivating the account does not bring them back. accounts.services.personal_tokens_revoke_all
  does it first, with an event per token, where the deactivation goes through the admin; the trigger covers
  every other path (an erasure, a shell, a bulk update).

Table names are written out: a migration is frozen in time.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

POSTGRES = """
CREATE FUNCTION verity_personal_token_person() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'a service account cannot hold a personal token' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER personal_token_person BEFORE INSERT OR UPDATE OF user_id ON accounts_personaltoken
    FOR EACH ROW EXECUTE FUNCTION verity_personal_token_person();

CREATE FUNCTION verity_service_account_no_personal_tokens() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts_personaltoken t WHERE t.user_id = NEW.user_id) THEN
        RAISE EXCEPTION 'a service account cannot hold a personal token' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER service_account_no_personal_tokens BEFORE INSERT OR UPDATE OF user_id ON governance_serviceaccount
    FOR EACH ROW EXECUTE FUNCTION verity_service_account_no_personal_tokens();

CREATE FUNCTION verity_personal_tokens_end_with_owner() RETURNS trigger AS $$
BEGIN
    UPDATE accounts_personaltoken SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER personal_tokens_end_with_owner AFTER UPDATE OF is_active ON auth_user
    FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
    EXECUTE FUNCTION verity_personal_tokens_end_with_owner();
"""

POSTGRES_DROP = """
DROP TRIGGER personal_token_person ON accounts_personaltoken;
DROP FUNCTION verity_personal_token_person();
DROP TRIGGER service_account_no_personal_tokens ON governance_serviceaccount;
DROP FUNCTION verity_service_account_no_personal_tokens();
DROP TRIGGER personal_tokens_end_with_owner ON auth_user;
DROP FUNCTION verity_personal_tokens_end_with_owner();
"""

_SQLITE_PERSON = """
WHEN EXISTS (SELECT 1 FROM governance_serviceaccount s WHERE s.user_id = NEW.user_id)
BEGIN SELECT RAISE(ABORT, 'a service account cannot hold a personal token'); END
"""
_SQLITE_NO_TOKENS = """
WHEN EXISTS (SELECT 1 FROM accounts_personaltoken t WHERE t.user_id = NEW.user_id)
BEGIN SELECT RAISE(ABORT, 'a service account cannot hold a personal token'); END
"""
SQLITE = {
    "personal_token_person_insert": "BEFORE INSERT ON accounts_personaltoken" + _SQLITE_PERSON,
    "personal_token_person_update": "BEFORE UPDATE OF user_id ON accounts_personaltoken" + _SQLITE_PERSON,
    "service_account_no_personal_tokens_insert": "BEFORE INSERT ON governance_serviceaccount" + _SQLITE_NO_TOKENS,
    "service_account_no_personal_tokens_update": "BEFORE UPDATE OF user_id ON governance_serviceaccount"
    + _SQLITE_NO_TOKENS,
    # The format Django itself stores on SQLite (UTC, fractional seconds).
    "personal_tokens_end_with_owner": "AFTER UPDATE OF is_active ON auth_user"
    " WHEN OLD.is_active AND NOT NEW.is_active"
    " BEGIN UPDATE accounts_personaltoken SET revoked_at = strftime('%Y-%m-%d %H:%M:%f', 'now')"
    " WHERE user_id = NEW.id AND revoked_at IS NULL; END",
}


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES, params=None)
    elif vendor == "sqlite":
        for name, body in SQLITE.items():
            schema_editor.execute(f"CREATE TRIGGER {name} {body}", params=None)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP, params=None)
    elif vendor == "sqlite":
        for name in SQLITE:
            schema_editor.execute(f"DROP TRIGGER {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_service_accounts_never_decide"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PersonalToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(help_text="What it is for, e.g. 'quarterly trail export'.", max_length=100)),
                (
                    "access",
                    models.CharField(
                        choices=[
                            ("read", "read: safe methods, and verifying the trail"),
                            ("write", "write: what the owner may do over the API, except deciding"),
                        ],
                        default="read",
                        max_length=5,
                    ),
                ),
                ("prefix", models.CharField(max_length=16, unique=True)),
                ("digest", models.CharField(max_length=64, unique=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("expires_at", models.DateTimeField()),
                ("last_used_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="personal_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "personal API token",
                "ordering": ["-created_at"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("digest__regex", "^[0-9a-f]{64}$")), name="personaltoken_digest_is_sha256"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("access__in", ["read", "write"])), name="personaltoken_access_known"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))), name="personaltoken_expires"
                    ),
                ],
            },
        ),
        migrations.RunPython(create, drop),
    ]

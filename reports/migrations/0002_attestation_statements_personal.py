"""Attestation statements move out of the attestation rows into the officers' personal records.

A statement is the officer's own words: like comments and justifications, it now lives beside the trail in
audits.PersonalRecord, under a digest salted with a random salt kept in that record, and is erased with the
person. Each row keeps the salted digest in place of the plain SHA-256 it had. Events already in the chain are
immutable and keep the plain `statement_sha256` they were written with (docs/audit-trail.md).

The statements of people erased before this migration were left in the rows by the erasure: they are dropped
here rather than moved, so they read as erased.
"""

import hashlib
import json
import secrets

from django.db import migrations, models

KIND = "attestation_statement"
ERASED = "[erased]"


def _digest(salt: str, text: str) -> str:
    # audits.services.personal_digest, frozen here as the rule the records were written under.
    return hashlib.sha256((salt + text).encode("utf-8")).hexdigest()


def _subjects(apps) -> dict[int, str]:
    """audits.services.actor_for for every user who is a service account; other users are user:<pk>."""
    accounts = apps.get_model("accounts", "ServiceAccount").objects.values_list("user_id", "name")
    return {user_id: f"service:{name}" for user_id, name in accounts}


def _erased_at(apps) -> dict[str, object]:
    """When each erased subject was last erased, from the person.erased events of the trail."""
    erased = {}
    events = apps.get_model("audits", "AuditEvent").objects.filter(action="person.erased").order_by("seq")
    for body, ts in events.values_list("body", "ts"):
        erased[json.loads(bytes(body))["data"]["subject"]] = ts
    return erased


def statements_to_personal_records(apps, schema_editor):
    Attestation = apps.get_model("reports", "Attestation")
    PersonalRecord = apps.get_model("audits", "PersonalRecord")
    subjects, erased_at = _subjects(apps), _erased_at(apps)
    for row in Attestation.objects.order_by("pk").iterator():
        subject = subjects.get(row.answered_by_id, f"user:{row.answered_by_id}")
        salt = secrets.token_hex(16)
        row.statement_digest = _digest(salt, row.statement)
        erased = erased_at.get(subject)
        if erased is None or row.answered_at > erased:
            PersonalRecord.objects.create(
                subject=subject, kind=KIND, text=row.statement, salt=salt, digest=row.statement_digest
            )
        row.save(update_fields=["statement_digest"])


def statements_back_into_rows(apps, schema_editor):
    """The previous release's rows: the text in the row, its plain SHA-256 (an erased one stays erased)."""
    Attestation = apps.get_model("reports", "Attestation")
    records = apps.get_model("audits", "PersonalRecord").objects.filter(kind=KIND)
    for row in Attestation.objects.order_by("pk").iterator():
        record = records.filter(digest=row.statement_digest).first()
        if record is None:
            row.statement = ERASED
        else:
            row.statement = record.text
            row.statement_digest = hashlib.sha256(record.text.encode("utf-8")).hexdigest()
            record.delete()
        row.save(update_fields=["statement", "statement_digest"])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_attestations_and_reports"),
        ("audits", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="attestation", old_name="statement_sha256", new_name="statement_digest"),
        migrations.RunPython(statements_to_personal_records, statements_back_into_rows, elidable=False),
        # A default first, so that migrating back can add the column again to rows that have no statement.
        migrations.AlterField(model_name="attestation", name="statement", field=models.TextField(default="")),
        migrations.RemoveField(model_name="attestation", name="statement"),
    ]

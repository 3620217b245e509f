"""The audit trail: hash-chained events, signed checkpoints, and the erasable personal data beside them.

AuditEvent and Checkpoint are append-only (no update or delete path in the code; PostgreSQL triggers
refuse UPDATE, DELETE and TRUNCATE). Their indexed columns are copies of the hashed body for filtering;
what is shown and verified is always the stored body.
"""

from django.db import models
from django.db.models import Q


class AuditEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    ts = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    object_ref = models.CharField(max_length=200, db_index=True, blank=True)
    prev = models.CharField(max_length=64, unique=True)  # unique: two events can never claim one parent
    hash = models.CharField(max_length=64, unique=True)
    body = models.BinaryField()  # the exact RFC 8785 bytes that were hashed

    class Meta:
        ordering = ["seq"]
        constraints = [models.CheckConstraint(condition=Q(seq__gte=1), name="auditevent_seq_positive")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class Checkpoint(models.Model):
    """A signed statement of the chain's size and head, for auditors to keep outside our database."""

    size = models.BigIntegerField(unique=True)
    head = models.CharField(max_length=64)
    ts = models.DateTimeField()
    body = models.BinaryField()  # the exact RFC 8785 bytes that were signed
    signature = models.CharField(max_length=200)
    key_fingerprint = models.CharField(max_length=64)

    class Meta:
        ordering = ["size"]
        constraints = [models.CheckConstraint(condition=Q(size__gte=1), name="checkpoint_size_positive")]

    def __str__(self) -> str:
        return f"checkpoint @{self.size}"


class PersonalRecord(models.Model):
    """Personal data kept outside the chain; events hold only its salted digest.

    The salt makes the digest meaningless once the row is erased: a short text such as a
    name cannot be recovered from the chain by trying candidates.
    """

    subject = models.CharField(max_length=200, db_index=True)  # pseudonymous id, e.g. user:17
    kind = models.CharField(max_length=50)  # comment, username, email, ...
    text = models.TextField()
    salt = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.subject}"

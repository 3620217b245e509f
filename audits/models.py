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


class EvidenceJob(models.Model):
    """An explanation, bias audit or drift check of one model version on one dataset.

    The row is the job's state: claimed with a conditional UPDATE so a redelivered task is
    harmless, enqueued after commit and re-enqueued by a sweep if the broker missed it.
    """

    class Kind(models.TextChoices):
        EXPLANATION = "explanation"
        BIAS_AUDIT = "bias_audit"
        DRIFT_CHECK = "drift_check"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="evidence_jobs")
    dataset = models.ForeignKey("registry.Dataset", on_delete=models.PROTECT, related_name="+")
    reference = models.ForeignKey("registry.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    dataset_sha256 = models.CharField(max_length=64)
    result = models.JSONField(null=True, blank=True)
    result_sha256 = models.CharField(max_length=64, blank=True)
    verdict = models.CharField(max_length=20, blank=True)  # pass | fail | inconclusive | done
    error = models.TextField(blank=True)
    requested_by = models.CharField(max_length=200)  # actor id
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An explanation cut into chunks: what its claiming task computed for the merge (the explainer
    # chosen, LIME's rows), and when the merge was claimed, so that only one finisher merges.
    explainer_sha256 = models.CharField(max_length=64, blank=True)
    merge_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class EvidenceChunk(models.Model):
    """A slice of an explanation job's rows, explained by whichever worker takes its message.

    Its rows, its background and, once explained, its SHAP values are evidence blobs named by their
    SHA-256. Recording the values is a conditional UPDATE, so a redelivered chunk counts once.
    """

    job = models.ForeignKey(EvidenceJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    start = models.PositiveIntegerField()  # positions in the job's sample of rows
    stop = models.PositiveIntegerField()
    rows_sha256 = models.CharField(max_length=64)
    background_sha256 = models.CharField(max_length=64, blank=True)
    shap_sha256 = models.CharField(max_length=64, blank=True)  # empty until explained
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="evidencechunk_unique_number"),
            models.CheckConstraint(condition=Q(stop__gt=models.F("start")), name="evidencechunk_rows_in_order"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.number} of job #{self.job_id}"

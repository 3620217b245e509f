"""Evidence jobs and the chunks a large explanation is cut into.

The tables keep the names they had when these models lived in the audits app (``audits_evidencejob``,
``audits_evidencechunk``), so existing databases and audit events keep pointing at the same rows.
"""

from django.db import models
from django.db.models import Q


class EvidenceJob(models.Model):
    """An explanation, bias audit or drift check of one model version on one dataset.

    The row is the job's state: claimed with a conditional UPDATE so a redelivered task is
    harmless, enqueued after commit and re-enqueued by a sweep if the broker missed it.
    """

    trail_label = "audits.evidencejob"  # its name in audit events written before the evidence app existed

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
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # refreshed by its worker while it runs
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An explanation cut into chunks: what its claiming task computed for the merge (the explainer
    # chosen, LIME's rows), and when the merge was claimed, so that only one finisher merges.
    explainer_sha256 = models.CharField(max_length=64, blank=True)
    merge_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "audits_evidencejob"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class EvidenceChunk(models.Model):
    """A slice of an explanation job's rows, explained by whichever worker takes its message.

    Its rows, its background and, once explained, its SHAP values are evidence blobs named by their
    SHA-256. Recording the values is a conditional UPDATE, so a redelivered chunk counts once.
    """

    trail_label = "audits.evidencechunk"

    job = models.ForeignKey(EvidenceJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    start = models.PositiveIntegerField()  # positions in the job's sample of rows
    stop = models.PositiveIntegerField()
    rows_sha256 = models.CharField(max_length=64)
    background_sha256 = models.CharField(max_length=64, blank=True)
    shap_sha256 = models.CharField(max_length=64, blank=True)  # empty until explained
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # set when a worker starts it, refreshed while it runs
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "audits_evidencechunk"
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="evidencechunk_unique_number"),
            models.CheckConstraint(condition=Q(stop__gt=models.F("start")), name="evidencechunk_rows_in_order"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.number} of job #{self.job_id}"

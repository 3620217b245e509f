"""Attestations (people's answers to the checklist items only a person can decide) and rendered
model-card reports. Rows change only through reports/services.py, each change with its audit event."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Attestation(models.Model):
    """One answer to one human checklist item for one model version. A newer answer to the same
    item supersedes the older one (kept: the history is evidence); an answer can expire."""

    class Answer(models.TextChoices):
        MET = "met"
        NOT_MET = "not_met"
        NOT_APPLICABLE = "not_applicable"

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="attestations")
    framework = models.CharField(max_length=20)  # "gdpr", "ccpa", "hipaa", "eu_ai_act"
    item_id = models.CharField(max_length=40)  # "GDPR-22-3"
    checklist_version = models.CharField(max_length=20)  # the framework file's version when answered
    answer = models.CharField(max_length=20, choices=Answer.choices)
    # The statement is the officer's own words, personal data: its text lives beside the trail in
    # audits.PersonalRecord (erased with the person), found by this salted digest, which events carry.
    statement_digest = models.CharField(max_length=64)
    # [{"name", "sha256", "size", "content_type"}]; the bytes live in the evidence store under their digest.
    attachments = models.JSONField(default=list)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "framework", "item_id"],
                condition=Q(superseded_at__isnull=True),
                name="attestation_one_current_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.answer} for version {self.version_id}"


class Report(models.Model):
    """A model card rendered to PDF from a recorded card document (its inputs), so it can be
    rendered again and compared byte for byte."""

    class Scope(models.TextChoices):
        GDPR = "gdpr"
        CCPA = "ccpa"
        HIPAA = "hipaa"
        EU_AI_ACT = "eu_ai_act"
        COMBINED = "combined"
        ANNEX_IV = "annex_iv"  # the EU AI Act technical documentation (reports/annex_iv.py)

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="reports")
    scope = models.CharField(max_length=20, choices=Scope.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(max_length=150)  # a pseudonymous actor id, as in the audit trail
    inputs = models.JSONField(null=True, blank=True)  # the card document the PDF was rendered from
    inputs_sha256 = models.CharField(max_length=64, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)  # bytes under REPORT_ROOT at this digest
    pdf_size = models.BigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Where a running render stands (reports.jobs.STEPS); the one it was at when it failed stays.
    step = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # refreshed by its worker while it runs
    finished_at = models.DateTimeField(null=True, blank=True)
    rederived_at = models.DateTimeField(null=True, blank=True)
    rederived_sha256 = models.CharField(max_length=64, blank=True)
    rederive_matches = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="succeeded") | ~Q(pdf_sha256=""), name="report_succeeded_has_pdf"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} report #{self.pk} for version {self.version_id}"

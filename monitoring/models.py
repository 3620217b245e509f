"""Production monitoring: the policy per risk tier and the windows of production rows, each with its result.

Rows change only through monitoring/services.py, which records each change's audit event in its transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.models import RiskTier

# The PSI alert level and where it comes from: one place, quoted by the policy rows and the model card.
PSI_ALERT_DEFAULT = 0.15
PSI_ALERT_SOURCE = (
    "Population stability index rule of thumb (Siddiqi, Credit Risk Scorecards, Wiley 2006): below 0.1 no "
    "significant shift, 0.1 to 0.25 a moderate shift worth investigating, above 0.25 a major shift. 0.15, "
    "inside the moderate band, alerts before a shift becomes major"
)


def default_monitors() -> dict:
    return {
        "feature_drift": True,
        "prediction_drift": True,
        "performance": True,
        "concept_drift": True,
        "estimated_performance": True,
    }


class MonitoringPolicy(models.Model):
    """What production monitoring watches for one risk tier, when it alerts and when it asks for retraining."""

    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, unique=True)
    monitors = models.JSONField(default=default_monitors)
    psi_alert = models.FloatField(default=PSI_ALERT_DEFAULT)
    psi_alert_source = models.CharField(max_length=400, default=PSI_ALERT_SOURCE)
    # Minimum window sizes: below them a monitor reports insufficient data and never alerts.
    min_rows = models.PositiveIntegerField(default=1000)
    min_labelled_rows = models.PositiveIntegerField(default=500)
    # A relative drop of the primary metric (ROC AUC, accuracy or MAE) at which performance alerts.
    max_performance_drop = models.FloatField(default=0.1)
    retrain_on_drift = models.BooleanField(default=False)
    retrain_on_performance = models.BooleanField(default=True)
    # Scheduled retraining: days after registration (or the last request) a production version is asked
    # to be retrained; null for none.
    retrain_every_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["risk_tier"]
        verbose_name_plural = "monitoring policies"
        constraints = [
            models.CheckConstraint(condition=Q(psi_alert__gt=0), name="monitoringpolicy_psi_positive"),
            models.CheckConstraint(condition=Q(min_rows__gte=1), name="monitoringpolicy_min_rows_positive"),
            models.CheckConstraint(
                condition=Q(min_labelled_rows__gte=1), name="monitoringpolicy_min_labelled_rows_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_performance_drop__gt=0) & Q(max_performance_drop__lt=1),
                name="monitoringpolicy_drop_is_a_fraction",
            ),
            models.CheckConstraint(
                condition=Q(retrain_every_days__isnull=True) | Q(retrain_every_days__gte=1),
                name="monitoringpolicy_schedule_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"monitoring policy for {self.risk_tier} risk"


class ProductionWindow(models.Model):
    """Production rows of one version over one time window, stored by the SHA-256 of their bytes, and the
    monitors' result on them. The row is also the job's state (core.rowjobs). Labels that arrive later come
    as a new upload of the same window; the newest finished upload of a window speaks for it."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="production_windows")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    format = models.CharField(max_length=10)
    rows = models.BigIntegerField()
    labelled = models.BooleanField()
    schema = models.JSONField()  # the version's schema as the upload was validated against it
    policy = models.JSONField()  # the monitoring policy as it stood at upload: the verdict is judged by it
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    result_sha256 = models.CharField(max_length=64, blank=True)
    verdict = models.CharField(max_length=20, blank=True)  # alert | ok | insufficient_data
    error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # refreshed by its worker while it runs
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "window_start", "created_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")), name="window_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["version", "window_start", "window_end", "sha256"], name="window_bytes_once_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.window_start:%Y-%m-%d %H:%M} to {self.window_end:%Y-%m-%d %H:%M}"

"""The model registry and the approval workflow.

Rows change only through registry/services.py, which guards each transition and records
its audit event in the same transaction; the constraints below back the rules a database
can express.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mlio.confinement import LIMIT_RANGES, EvaluationLimits


class RiskTier(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Stage(models.TextChoices):
    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


FRAMEWORKS = ("GDPR", "CCPA", "HIPAA", "EU_AI_ACT")
DATA_CLASSES = ("personal_data", "special_category", "phi")


class RegisteredModel(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The owning team (a `team:` group, core.teams): its members write on the model; changed by superusers only.
    team = models.ForeignKey(
        "auth.Group",
        on_delete=models.PROTECT,
        related_name="models",
        limit_choices_to={"name__startswith": "team:"},
    )
    business_owner = models.CharField(max_length=200, blank=True)
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    intended_use = models.TextField(blank=True)
    out_of_scope_uses = models.TextField(blank=True)
    frameworks = models.JSONField(default=list)
    data_classification = models.JSONField(default=list)
    # Free key/value metadata (MLflow's registered-model tags); edited through registry.metadata, audited.
    tags = models.JSONField(default=dict)
    rollback_target = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Artifact(models.Model):
    """Bytes stored once under their SHA-256; immutable."""

    sha256 = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    format = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.format}:{self.sha256[:12]}"


class ModelVersion(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=50)
    artifact = models.ForeignKey(Artifact, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    flavor = models.CharField(max_length=50, blank=True)
    framework = models.CharField(max_length=50, blank=True)
    framework_version = models.CharField(max_length=50, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    lineage = models.JSONField(default=dict)
    known_limitations = models.TextField(blank=True)
    artifact_report = models.JSONField(default=dict)
    # The data its evidence (explanations, bias audits) is computed on; its rows were predicted at upload.
    evaluation_dataset = models.ForeignKey("Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.NONE)
    review_required = models.BooleanField(default=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model__name", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="modelversion_unique_per_model"),
            models.UniqueConstraint(
                fields=["model"], condition=Q(stage="production"), name="modelversion_one_production_per_model"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.version}"


class ModelAlias(models.Model):
    """A name pointing at one version of a model (MLflow's registered-model alias). An alias whose words name
    a gated stage (registry.aliases.alias_stage) points only at a version approved for that stage."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="aliases")
    alias = models.CharField(max_length=100)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "model aliases"
        constraints = [models.UniqueConstraint(fields=["model", "alias"], name="modelalias_unique_per_model")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias}"


class Dataset(models.Model):
    class Kind(models.TextChoices):
        EVALUATION = "evaluation"
        REFERENCE = "reference"
        PRODUCTION_SAMPLE = "production_sample"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    model = models.ForeignKey(RegisteredModel, null=True, blank=True, on_delete=models.PROTECT, related_name="datasets")
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    format = models.CharField(max_length=10)
    schema = models.JSONField()
    profile = models.JSONField(default=dict)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


UNEXPLAINABLE = [("block", "block"), ("not_applicable", "not applicable"), ("waivable", "waivable")]
ROLLBACK_ON_BREACH = [("recommend", "recommend a rollback"), ("automatic", "roll back automatically")]


def _limit_validators(name: str) -> list:
    low, high = LIMIT_RANGES[name]
    return [MinValueValidator(low), MaxValueValidator(high)]


class ApprovalPolicy(models.Model):
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, unique=True)
    approvals_required = models.PositiveSmallIntegerField()
    officer_approvals_required = models.PositiveSmallIntegerField(default=0)
    requires_explanation = models.BooleanField(default=True)
    requires_bias_audit = models.BooleanField(default=True)
    requires_model_cards = models.BooleanField(default=True)
    requires_drift_check_for_reapproval = models.BooleanField(default=True)
    # No checklist item of an applicable framework may have failed (items awaiting an answer do not block).
    requires_checklists_without_failures = models.BooleanField(default=False)
    # The version carries an OpenSSF model-signing signature that verified over its artifact's files at
    # registration against a key or certificate root its model's team trusts, and that trust still holds.
    requires_model_signature = models.BooleanField(default=False)
    # What an explanation requirement means for a version that cannot be explained at all (a vendor model
    # known only by its recorded predictions): it blocks, is not applicable, or may be waived in writing.
    unexplainable = models.CharField(max_length=20, choices=UNEXPLAINABLE, default="block")
    validity_days = models.PositiveIntegerField(default=90)
    # Evidence older than this does not count towards a decision (explanations, bias audits, drift checks).
    evidence_max_age_days = models.PositiveIntegerField(default=180)
    # Bias verdict thresholds; the defaults are the four-fifths rule (29 CFR 1607.4(D)) and a 0.1
    # equalized odds limit. A bias audit is judged against the thresholds of the policy it is requested under.
    bias_min_selection_rate_ratio = models.FloatField(default=0.8)
    bias_max_equalized_odds_difference = models.FloatField(default=0.1)
    # What the service does when a production deployment's traffic breaches its rollback threshold: announce a
    # rollback recommendation, or put the previous production version back itself (when one can be).
    rollback_on_breach = models.CharField(max_length=20, choices=ROLLBACK_ON_BREACH, default="recommend")
    # What one evaluation of a model of this tier (an explanation, a bias audit, a monitoring window) may use in
    # its confined child before it is stopped (mlio.confinement; ranges in LIMIT_RANGES, docs/security.md).
    evaluation_cpu_seconds = models.PositiveIntegerField(
        default=EvaluationLimits.cpu_seconds, validators=_limit_validators("cpu_seconds")
    )
    evaluation_memory_mb = models.PositiveIntegerField(
        default=EvaluationLimits.memory_mb, validators=_limit_validators("memory_mb")
    )
    evaluation_wall_seconds = models.PositiveIntegerField(
        default=EvaluationLimits.wall_seconds, validators=_limit_validators("wall_seconds")
    )
    evaluation_output_mb = models.PositiveIntegerField(
        default=EvaluationLimits.output_mb, validators=_limit_validators("output_mb")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["risk_tier"]
        verbose_name_plural = "approval policies"
        constraints = [
            models.CheckConstraint(condition=Q(approvals_required__gte=1), name="policy_needs_an_approval"),
            models.CheckConstraint(
                condition=Q(officer_approvals_required__lte=models.F("approvals_required")),
                name="policy_officers_within_approvals",
            ),
            models.CheckConstraint(condition=Q(validity_days__gte=1), name="policy_validity_positive"),
            models.CheckConstraint(condition=Q(evidence_max_age_days__gte=1), name="policy_evidence_age_positive"),
            models.CheckConstraint(
                condition=Q(bias_min_selection_rate_ratio__gt=0) & Q(bias_min_selection_rate_ratio__lte=1),
                name="policy_selection_ratio_in_range",
            ),
            models.CheckConstraint(
                condition=Q(bias_max_equalized_odds_difference__gte=0) & Q(bias_max_equalized_odds_difference__lte=1),
                name="policy_odds_difference_in_range",
            ),
            models.CheckConstraint(
                condition=Q(rollback_on_breach__in=["recommend", "automatic"]), name="policy_rollback_on_breach_known"
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"evaluation_{name}__gte": low, f"evaluation_{name}__lte": high}),
                    name=f"policy_evaluation_{name}_in_range",
                )
                for name, (low, high) in LIMIT_RANGES.items()
            ],
        ]

    def __str__(self) -> str:
        return f"policy for {self.risk_tier} risk"


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        WITHDRAWN = "withdrawn"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="approval_requests")
    target_stage = models.CharField(
        max_length=20, choices=[(Stage.STAGING, "staging"), (Stage.PRODUCTION, "production")]
    )
    # Empty when the service itself opened the request (a re-review after a drift alert); then `trigger` says why.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger = models.CharField(max_length=200, blank=True)
    # What raised it, as the trail names the row ("monitoring.productionwindow:7", "audits.evidencejob:4").
    trigger_ref = models.CharField(max_length=100, blank=True)
    justification_digest = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    policy = models.JSONField()  # the policy as it stood when the request was made
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "target_stage"],
                condition=Q(status="pending"),
                name="approvalrequest_one_pending_per_stage",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(expires_at__isnull=False),
                name="approvalrequest_approved_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(requested_by__isnull=False) | ~Q(trigger=""),
                name="approvalrequest_requested_by_someone_or_something",
            ),
        ]

    def __str__(self) -> str:
        return f"request #{self.pk} {self.version} -> {self.target_stage}"


class ApprovalDecision(models.Model):
    class Verdict(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="decisions")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    as_officer = models.BooleanField()
    comment_digest = models.CharField(max_length=64, blank=True)  # the text lives in audits.PersonalRecord
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    evidence_digests = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "decided_by"], name="approvaldecision_one_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.verdict} by user:{self.decided_by_id} on request #{self.request_id}"


class ApprovalAttestation(models.Model):
    """The signed, portable form of an approval: a DSSE envelope of an in-toto statement
    (approvals.attestations), issued in the transaction that approved the request, never changed after.
    The trail records its SHA-256; whether it still holds is the request's state (the revocation list)."""

    request = models.OneToOneField(ApprovalRequest, on_delete=models.PROTECT, related_name="attestation")
    envelope = models.BinaryField()
    sha256 = models.CharField(max_length=64, unique=True)
    keyid = models.CharField(max_length=64)  # the signing key's fingerprint
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"attestation of request #{self.request_id}"


class Deployment(models.Model):
    class Strategy(models.TextChoices):
        CANARY = "canary"
        BLUE_GREEN = "blue_green"
        SHADOW = "shadow"
        ALL_AT_ONCE = "all_at_once"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="deployments")
    environment = models.CharField(max_length=100)
    strategy = models.CharField(max_length=20, choices=Strategy.choices)
    traffic_percent = models.DecimalField(max_digits=5, decimal_places=2)
    rollback_threshold = models.JSONField(default=dict)
    serving_platform = models.CharField(max_length=100, blank=True)
    # The stage whose approval the environment needs (registry.stages.environment_stage); "" when none.
    approval_stage = models.CharField(max_length=20, blank=True)
    # A deployment is a fact: it is recorded even without an approval in force, and marked as a violation
    # with the reasons approval_valid gave, as they stood when it was reported.
    violation = models.BooleanField(default=False)
    violation_reasons = models.JSONField(default=list, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(traffic_percent__gte=0) & Q(traffic_percent__lte=100),
                name="deployment_traffic_is_a_percentage",
            ),
            models.CheckConstraint(
                condition=Q(approval_stage__in=["", "staging", "production"]),
                name="deployment_approval_stage_known",
            ),
            models.CheckConstraint(
                condition=Q(violation=False) | ~Q(approval_stage=""),
                name="deployment_violation_needs_a_gated_stage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} in {self.environment} ({self.strategy}, {self.traffic_percent}%)"


class DeploymentHealthReport(models.Model):
    """One window of live traffic as the serving platform measured it for one deployment, and the verdict of
    the deployment's rollback threshold on it (registry.rollback_rules). Windows of one deployment never
    overlap, so pooling them counts no request twice. The first breach gets the response the policy of the
    model's risk tier sets; later ones are recorded, not acted on again."""

    class Response(models.TextChoices):
        NONE = "", "none"
        RECOMMENDED = "recommended", "rollback recommended"
        ROLLED_BACK = "rolled_back", "rolled back"

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="health_reports")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    requests = models.PositiveBigIntegerField()
    errors = models.PositiveBigIntegerField()
    latency_p50_ms = models.FloatField(null=True, blank=True)
    latency_p95_ms = models.FloatField(null=True, blank=True)
    latency_p99_ms = models.FloatField(null=True, blank=True)
    verdict = models.JSONField(null=True, blank=True)  # None: the deployment declared no threshold
    breached = models.BooleanField(default=False)
    response = models.CharField(max_length=20, choices=Response.choices, blank=True, default="")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-window_end"]
        indexes = [models.Index(fields=["deployment", "window_end"], name="health_report_by_window")]
        constraints = [
            models.CheckConstraint(condition=Q(window_end__gt=models.F("window_start")), name="health_window_forward"),
            models.CheckConstraint(condition=Q(errors__lte=models.F("requests")), name="health_errors_within_requests"),
            models.CheckConstraint(
                condition=Q(response="") | Q(breached=True), name="health_response_only_on_a_breach"
            ),
            models.UniqueConstraint(
                fields=["deployment"], condition=~Q(response=""), name="health_one_response_per_deployment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deployment} {self.window_start:%Y-%m-%d %H:%M}..{self.window_end:%H:%M}"


class EvidenceWaiver(models.Model):
    """A compliance officer's written decision that one evidence requirement need not be met for one
    artifact of one version. The justification's text lives in audits.PersonalRecord (it may name
    people); the row and the audit event keep its digest. Revoking keeps the row."""

    class Requirement(models.TextChoices):
        BIAS_AUDIT = "bias_audit"
        EXPLANATION = "explanation"  # only for a version that cannot be explained, where the policy allows it

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="waivers")
    requirement = models.CharField(max_length=30, choices=Requirement.choices)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    justification_digest = models.CharField(max_length=64)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "requirement", "artifact_sha256"],
                condition=Q(revoked_at__isnull=True),
                name="evidencewaiver_one_active_per_requirement",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requirement} waived for {self.version}"

    def state(self, now=None) -> str:
        """revoked, expired or active (the one reading the admin's list and the review page share)."""
        if self.revoked_at:
            return "revoked"
        return "active" if self.expires_at > (now or timezone.now()) else "expired"


class WebhookSubscription(models.Model):
    url = models.URLField(max_length=500)
    # Exact actions ("approval.approved") or families ("approval.*"); "*" for every event.
    event_types = models.JSONField()
    secret = models.CharField(max_length=100)  # needed in clear to sign; shown once at creation
    # A header sent with every delivery (an API key the receiver expects): its value is encrypted at rest
    # (core.secret_box), shown masked and never written into an event.
    secret_header_name = models.CharField(max_length=100, blank=True)
    secret_header_value = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscriber: written with the event (an outbox), sent by a worker."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"  # its subscription was deactivated before it was sent

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries")
    event_seq = models.BigIntegerField()  # for a checkpoint.created delivery: the checkpoint's size
    action = models.CharField(max_length=100)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "action", "event_seq"], name="webhook_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.event_seq} -> {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class TrustedSigner(models.Model):
    """A public key or a certificate root a team trusts to sign its models (OpenSSF model-signing), kept by
    superusers. Revoking keeps the row (signatures verified against it are history) and ends its trust."""

    class Kind(models.TextChoices):
        KEY = "key"  # an elliptic-curve public key, PEM
        ROOT = "root"  # a CA certificate, PEM; signing certificates must chain to it

    team = models.ForeignKey("auth.Group", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    pem = models.TextField()
    fingerprint = models.CharField(max_length=64)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["team__name", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "fingerprint"],
                condition=Q(revoked_at__isnull=True),
                name="trusted_signer_once_per_team",
            ),
            models.CheckConstraint(condition=Q(kind__in=["key", "root"]), name="trusted_signer_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} of {self.team.name}"


class ModelSignature(models.Model):
    """The model-signing signature a version was registered with, verified over its artifact's files. The
    bundle's bytes are kept in the evidence store under bundle_sha256."""

    version = models.OneToOneField(ModelVersion, on_delete=models.PROTECT, related_name="signature")
    trusted_signer = models.ForeignKey(TrustedSigner, on_delete=models.PROTECT, related_name="signatures")
    method = models.CharField(max_length=20)  # "key" or "certificate"
    signer = models.CharField(max_length=500)  # the key's name, or the signing certificate's subject
    signer_fingerprint = models.CharField(max_length=64)
    predicate_type = models.CharField(max_length=200)
    subject = models.CharField(max_length=500)  # the model name the signer gave
    bundle_sha256 = models.CharField(max_length=64)
    artifact_sha256 = models.CharField(max_length=64)
    verified_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"signature of version {self.version_id} by {self.signer}"

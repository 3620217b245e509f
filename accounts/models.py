"""Service accounts and their API tokens (tables kept from the governance app they began in), and people's
personal API tokens."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class ServiceAccount(models.Model):
    """A machine identity (a CI pipeline) backed by a Django user without a password."""

    trail_label = "governance.serviceaccount"  # its name in audit events written before the accounts app existed

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_account")
    name = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "governance_serviceaccount"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    trail_label = "governance.apitoken"

    service_account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, related_name="tokens")
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "governance_apitoken"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="apitoken_digest_is_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.service_account.name}:{self.prefix}"


class PersonalToken(models.Model):
    """A person's bearer token (`vtp_...`), issued by that person for themselves. It acts as its owner, with the
    owner's current roles, until it expires, is revoked or the owner is deactivated; it never decides, and an
    auditor's is read-only (accounts.selectors.personal_token_read_only). Only its SHA-256 is stored."""

    class Access(models.TextChoices):
        READ = "read", "read: safe methods, and verifying the trail"
        WRITE = "write", "write: what the owner may do over the API, except deciding"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="personal_tokens")
    name = models.CharField(max_length=100, help_text="What it is for, e.g. 'quarterly trail export'.")
    access = models.CharField(max_length=5, choices=Access.choices, default=Access.READ)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "personal API token"
        constraints = [
            models.CheckConstraint(condition=Q(digest__regex=r"^[0-9a-f]{64}$"), name="personaltoken_digest_is_sha256"),
            models.CheckConstraint(condition=Q(access__in=["read", "write"]), name="personaltoken_access_known"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="personaltoken_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def state(self, now=None) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= (now or timezone.now()) else "active"

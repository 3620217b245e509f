"""Service accounts and their API tokens (tables kept from the governance app they began in)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


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

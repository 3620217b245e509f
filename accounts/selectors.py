"""Reads about accounts: whether a user is a machine, and the one rule on what a machine may hold."""

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import ServiceAccount
from core import roles
from core.errors import DomainError


def is_service_account(user: AbstractBaseUser) -> bool:
    return bool(user and user.pk and ServiceAccount.objects.filter(user_id=user.pk).exists())


def service_account_roles_check(user: AbstractBaseUser, group_names, *, superuser: bool = False) -> None:
    """A service account holds only the roles of machines (roles.SERVICE_ACCOUNT_ROLES), never a deciding
    role and never superuser. Raises DomainError naming what was refused."""
    refused = sorted(set(group_names) - set(roles.SERVICE_ACCOUNT_ROLES))
    if superuser:
        refused.append("superuser")
    if refused:
        allowed = ", ".join(roles.SERVICE_ACCOUNT_ROLES)
        raise DomainError(
            "service_account_role",
            f"groups: a service account may hold only {allowed}, not {', '.join(refused)}.",
            fields={"groups": [f"A service account may hold only: {allowed}."]},
            status_code=400,
        )


def decider_check(user: AbstractBaseUser) -> None:
    """Re-checked whenever someone decides (approve, reject, waive, attest): machines never decide, whatever
    groups they were given by mistake."""
    if is_service_account(user):
        raise DomainError("permission_denied", "Service accounts never decide: a person must.", status_code=403)

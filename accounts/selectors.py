"""Reads about accounts: whether a user is a machine, the one rule on what a machine may hold, and what a
person's personal API token may do."""

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import PersonalToken, ServiceAccount
from core import roles
from core.errors import DomainError
from core.teams import is_team_name


def is_service_account(user: AbstractBaseUser) -> bool:
    return bool(user and user.pk and ServiceAccount.objects.filter(user_id=user.pk).exists())


def service_account_roles_check(user: AbstractBaseUser, group_names, *, superuser: bool = False) -> None:
    """A service account holds only the roles of machines (roles.SERVICE_ACCOUNT_ROLES), never a deciding
    role and never superuser; teams (core.teams) are ownership, not roles, and allowed. Raises DomainError
    naming what was refused."""
    refused = sorted(name for name in set(group_names) - set(roles.SERVICE_ACCOUNT_ROLES) if not is_team_name(name))
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
    groups they were given by mistake, and neither does a script holding a person's token: a decision is made
    by the person, signed in (the token authentication marks the user it returns with `_personal_token`)."""
    if is_service_account(user):
        raise DomainError("permission_denied", "Service accounts never decide: a person must.", status_code=403)
    if getattr(user, "_personal_token", None) is not None:
        raise DomainError(
            "permission_denied",
            "A personal API token never decides: sign in to approve, reject, waive or attest.",
            status_code=403,
        )


def personal_token_read_only(token: PersonalToken) -> bool:
    """Read-only when issued so, or whenever its owner is an auditor now (a role given later narrows it too):
    auditors change nothing."""
    return token.access == PersonalToken.Access.READ or roles.has_role(token.user, roles.AUDITOR)


def personal_tokens_of(user: AbstractBaseUser):
    return PersonalToken.objects.filter(user_id=user.pk)

"""Writes for users, roles, service accounts and personal tokens; each records its audit event in the same
transaction."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiToken, PersonalToken, ServiceAccount
from accounts.selectors import is_service_account
from accounts.tokens import PERSONAL_TOKEN_PREFIX, new_token
from audits.services import actor_for, audit_event_append, object_ref, personal_record_store
from core import roles
from core.errors import DomainError
from core.teams import is_team_name, teams


def _team(name: str) -> Group:
    group = teams().filter(name=name).first() if is_team_name(name) else None
    if group is None:
        raise DomainError("invalid", f"team: no team is named {name!r}.", fields={"team": ["Not a team."]})
    return group


def _check_service_account_input(name: str, role: str) -> None:
    if not name or slugify(name) != name or len(name) > 100:
        raise DomainError(
            "invalid",
            "name: use lowercase letters, digits, '-' and '_' (at most 100).",
            fields={"name": ["Not a valid slug."]},
        )
    if role not in roles.SERVICE_ACCOUNT_ROLES:
        allowed = ", ".join(roles.SERVICE_ACCOUNT_ROLES)
        raise DomainError(
            "invalid",
            f"role: a service account may only hold {allowed}.",
            fields={"role": [f"Must be one of: {allowed}."]},
        )


@transaction.atomic
def service_account_create(
    *, name: str, role: str = roles.CI, description: str = "", actor: str = "system", team: str | None = None
) -> tuple[ServiceAccount, str]:
    """Creates the account and its first token; the token is returned once and never stored. With a team,
    the account joins it (the models it registers then belong to that team)."""
    _check_service_account_input(name, role)
    team_group = _team(team) if team else None
    user_model = get_user_model()
    if ServiceAccount.objects.filter(name=name).exists() or user_model.objects.filter(username=f"svc-{name}").exists():
        raise DomainError(
            "conflict",
            f"name: a service account named {name!r} exists.",
            fields={"name": ["Already exists."]},
            status_code=409,
        )
    user = user_model(username=f"svc-{name}")
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=role), *([team_group] if team_group else []))
    account = ServiceAccount.objects.create(user=user, name=name, description=description)
    audit_event_append(
        actor=actor,
        action="service_account.created",
        object_ref=object_ref(account),
        data={"name": name, "role": role, "user": f"user:{user.pk}", **({"team": team} if team else {})},
    )
    return account, api_token_issue(account=account, actor=actor)


@transaction.atomic
def api_token_issue(*, account: ServiceAccount, actor: str = "system") -> str:
    if account.revoked_at:
        raise DomainError("revoked", f"Service account {account.name!r} is revoked.", status_code=409)
    token, prefix, digest = new_token()
    try:
        with transaction.atomic():
            row = ApiToken.objects.create(service_account=account, prefix=prefix, digest=digest)
    except IntegrityError as exc:  # a 48-bit prefix collision: vanishingly rare, never silent
        raise DomainError("conflict", "Token prefix collision; try again.", status_code=409) from exc
    audit_event_append(
        actor=actor,
        action="api_token.issued",
        object_ref=object_ref(row),
        data={"service_account": account.name, "prefix": prefix},
    )
    return token


@transaction.atomic
def service_account_revoke(*, account: ServiceAccount, actor: str = "system") -> ServiceAccount:
    """Revokes the account and every token it holds; revoking twice changes nothing."""
    account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
    if account.revoked_at:
        return account
    now = timezone.now()
    account.revoked_at = now
    account.save(update_fields=["revoked_at"])
    revoked = account.tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
    get_user_model().objects.filter(pk=account.user_id).update(is_active=False)
    audit_event_append(
        actor=actor,
        action="service_account.revoked",
        object_ref=object_ref(account),
        data={"name": account.name, "tokens_revoked": revoked},
    )
    return account


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    role: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
    actor: str = "system",
    team: str | None = None,
):
    """A person's account, in a team when one is named. The username is personal data: the chain keeps only
    its salted digest."""
    team_group = _team(team) if team else None
    user = get_user_model().objects.create_user(
        username, password=password, is_staff=is_staff, is_superuser=is_superuser
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if team_group:
        user.groups.add(team_group)
    subject = f"user:{user.pk}"
    audit_event_append(
        actor=actor,
        action="user.created",
        object_ref=object_ref(user),
        data={
            "subject": subject,
            "roles": [role] if role else [],
            **({"team": team} if team else {}),
            "is_staff": is_staff,
            "is_superuser": is_superuser,
            "username_sha256": personal_record_store(subject=subject, kind="username", text=username),
        },
    )
    return user


def _check_personal_token_input(user, name: str, expires_in_days: int, access: str) -> None:
    if not user.is_active:
        raise DomainError("permission_denied", "An inactive account cannot hold tokens.", status_code=403)
    if is_service_account(user):
        raise DomainError(
            "permission_denied",
            "Service accounts cannot hold personal tokens; a superuser issues their tokens.",
            status_code=403,
        )
    if not name.strip() or len(name) > 100:
        raise DomainError("invalid", "name: 1 to 100 characters.", fields={"name": ["1 to 100 characters."]})
    limit = settings.PERSONAL_TOKEN_MAX_DAYS
    if not 1 <= expires_in_days <= limit:
        message = f"Between 1 and {limit} days (PERSONAL_TOKEN_MAX_DAYS)."
        raise DomainError("invalid", f"expires_in_days: {message}", fields={"expires_in_days": [message]})
    if access not in PersonalToken.Access.values:
        raise DomainError("invalid", "access: read or write.", fields={"access": ["Must be read or write."]})
    if access == PersonalToken.Access.WRITE and roles.has_role(user, roles.AUDITOR):
        message = "An auditor's token is read-only."
        raise DomainError("invalid", f"access: {message}", fields={"access": [message]})


@transaction.atomic
def personal_token_issue(
    *, user, name: str, expires_in_days: int, access: str = PersonalToken.Access.READ
) -> tuple[PersonalToken, str]:
    """A person issues a token for themselves; it is returned once and only its SHA-256 is kept. The event
    names its prefix, access and expiry, never the token, and not its name (free text a person wrote)."""
    _check_personal_token_input(user, name, expires_in_days, access)
    token, prefix, digest = new_token(marker=PERSONAL_TOKEN_PREFIX)
    now = timezone.now()
    try:
        with transaction.atomic():
            row = PersonalToken.objects.create(
                user=user,
                name=name.strip(),
                access=access,
                prefix=prefix,
                digest=digest,
                created_at=now,
                expires_at=now + timedelta(days=expires_in_days),
            )
    except IntegrityError as exc:  # a 48-bit prefix collision: vanishingly rare, never silent
        raise DomainError("conflict", "Token prefix collision; try again.", status_code=409) from exc
    audit_event_append(
        actor=actor_for(user),
        action="personal_token.issued",
        object_ref=object_ref(row),
        data={"owner": f"user:{user.pk}", **_token_facts(row)},
    )
    return row, token


def _token_facts(row: PersonalToken) -> dict:
    return {"prefix": row.prefix, "access": str(row.access), "expires_at": row.expires_at.isoformat()}


@transaction.atomic
def personal_token_revoke(*, token: PersonalToken, user) -> PersonalToken:
    """The owner or a superuser revokes a token; revoking twice changes nothing."""
    if token.user_id != user.pk and not user.is_superuser:
        raise DomainError("permission_denied", "Only its owner or a superuser revokes a token.", status_code=403)
    token = PersonalToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _revoked_event(token, actor=actor_for(user), reason="owner" if token.user_id == user.pk else "superuser")
    return token


@transaction.atomic
def personal_tokens_revoke_all(*, owner, actor: str, reason: str) -> int:
    """Every live token of a person (their deactivation); the database trigger of migration 0003 does the same
    for a deactivation that bypasses this service, without the events."""
    now = timezone.now()
    tokens = list(PersonalToken.objects.select_for_update().filter(user_id=owner.pk, revoked_at__isnull=True))
    for token in tokens:
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        _revoked_event(token, actor=actor, reason=reason)
    return len(tokens)


def _revoked_event(token: PersonalToken, *, actor: str, reason: str) -> None:
    audit_event_append(
        actor=actor,
        action="personal_token.revoked",
        object_ref=object_ref(token),
        data={"owner": f"user:{token.user_id}", "reason": reason, **_token_facts(token)},
    )


@transaction.atomic
def user_password_set(*, user, password: str, actor: str = "system") -> None:
    """A new password for a person (the demo's reset); the event records that it changed, never the password."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_event_append(actor=actor, action="user.password_changed", object_ref=object_ref(user), data={})

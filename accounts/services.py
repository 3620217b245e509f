"""Writes for users, roles and service accounts; each records its audit event in the same transaction."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import ApiToken, ServiceAccount
from accounts.tokens import new_token
from audits.services import audit_event_append, object_ref, personal_record_store
from core import roles
from core.errors import DomainError


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
    *, name: str, role: str = roles.CI, description: str = "", actor: str = "system"
) -> tuple[ServiceAccount, str]:
    """Creates the account and its first token; the token is returned once and never stored."""
    _check_service_account_input(name, role)
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
    user.groups.add(Group.objects.get(name=role))
    account = ServiceAccount.objects.create(user=user, name=name, description=description)
    audit_event_append(
        actor=actor,
        action="service_account.created",
        object_ref=object_ref(account),
        data={"name": name, "role": role, "user": f"user:{user.pk}"},
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
):
    """A person's account. The username is personal data: the chain keeps only its salted digest."""
    user = get_user_model().objects.create_user(
        username, password=password, is_staff=is_staff, is_superuser=is_superuser
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    subject = f"user:{user.pk}"
    audit_event_append(
        actor=actor,
        action="user.created",
        object_ref=object_ref(user),
        data={
            "subject": subject,
            "roles": [role] if role else [],
            "is_staff": is_staff,
            "is_superuser": is_superuser,
            "username_sha256": personal_record_store(subject=subject, kind="username", text=username),
        },
    )
    return user

import functools
import hmac
from datetime import UTC, timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from accounts.models import ApiToken, PersonalToken, ServiceAccount
from accounts.selectors import personal_token_read_only
from accounts.tokens import PERSONAL_TOKEN_PREFIX, token_digest, token_marker, token_prefix
from core.errors import LOCKED_OUT_MESSAGE

LAST_USED_RESOLUTION = timedelta(minutes=1)
# POSTs that only read, which a read-only personal token may therefore call (URL names): verifying the
# stored trail writes nothing, and revoking one's own token only takes access away.
READ_ONLY_POSTS = frozenset({"v1:audit-verify", "v1:personal-token-revoke"})
# What a failed bearer token is recorded as in django-axes: never the token itself, which may be a real one
# mistyped. Lockout is per client address, so the name only labels the attempt for an administrator.
TOKEN_CREDENTIALS = {"username": "(bearer token)"}


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: a service account's token (`vt_...`) or a person's (`vtp_...`). The
    marker picks the one table to look in: each kind costs one query, and the service accounts' path (the
    gate's) is the same as before personal tokens existed."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        try:
            return self._authenticate(header, request)
        except exceptions.AuthenticationFailed:
            _count_failure(request._request)
            raise

    def _authenticate(self, header: list[str], request):
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        if token_marker(header[1]) == PERSONAL_TOKEN_PREFIX:
            return self._check_personal(header[1], request)
        return self._check(header[1])

    def _check(self, token: str):
        prefix = token_prefix(token)
        row = token_with_roles(prefix) if prefix else None
        if row is None or not hmac.compare_digest(row.digest, token_digest(token)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if row.revoked_at or row.service_account.revoked_at or not row.service_account.user.is_active:
            raise exceptions.AuthenticationFailed("Token revoked.")
        _touch(ApiToken, row)
        return row.service_account.user, row

    def _check_personal(self, token: str, request):
        prefix = token_prefix(token, marker=PERSONAL_TOKEN_PREFIX)
        row = personal_token_with_roles(prefix) if prefix else None
        if row is None or not hmac.compare_digest(row.digest, token_digest(token)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        # An inactive owner's token is refused even before the database trigger has revoked it.
        if row.revoked_at or not row.user.is_active or row.held_by_service_account:
            raise exceptions.AuthenticationFailed("Token revoked.")
        if row.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("Token expired.")
        _touch(PersonalToken, row)
        if personal_token_read_only(row) and not _only_reads(request):
            raise exceptions.PermissionDenied("This token is read-only: it reads and verifies, it changes nothing.")
        row.user._personal_token = row  # read by accounts.selectors.decider_check: a token never decides
        return row.user, row

    def authenticate_header(self, request):
        return self.keyword


def _count_failure(request) -> None:
    """A failed token counts with the admin's failed sign-ins (django-axes, per client address); an address
    past the limit is answered 429 until its cool-off has passed. A valid token is not slowed by this: it
    carries 256 random bits, so the lockout throttles guessing rather than guarding a weak secret, and
    authenticating stays one query."""
    if AxesProxyHandler.is_allowed(request, TOKEN_CREDENTIALS):
        user_login_failed.send(sender=ApiTokenAuthentication, credentials=TOKEN_CREDENTIALS, request=request)
        if not getattr(request, "axes_locked_out", False):
            return
    wait = settings.AXES_COOLOFF_TIME.total_seconds()
    raise exceptions.Throttled(wait=wait, detail=LOCKED_OUT_MESSAGE, code="locked_out")


def _only_reads(request) -> bool:
    if request.method in SAFE_METHODS:
        return True
    match = getattr(request, "resolver_match", None)
    return request.method == "POST" and match is not None and match.view_name in READ_ONLY_POSTS


def _touch(model, row) -> None:
    now = timezone.now()
    # Recorded at most once a minute: a write on every request would cost the gate its throughput.
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        model.objects.filter(pk=row.pk).update(last_used_at=now)


def _columns(model, alias: str) -> tuple[list[str], str]:
    fields = [f.attname for f in model._meta.concrete_fields]
    columns = ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)
    return fields, columns


@functools.cache
def _token_query() -> tuple[str, list, list, list]:
    """Token, service account, user and role names in one statement, built once from the models'
    metadata: every API call authenticates, and compiling ORM queries cost more than running them."""
    User = get_user_model()
    token_fields, token_cols = _columns(ApiToken, "t")
    account_fields, account_cols = _columns(ServiceAccount, "a")
    user_fields, user_cols = _columns(User, "u")
    groups = User.groups.through._meta
    # Table and column names come from the models' metadata, never from input; the prefix is a parameter.
    sql = (
        f"SELECT {token_cols}, {account_cols}, {user_cols}, g.name "  # noqa: S608
        f"FROM {ApiToken._meta.db_table} t "
        f"JOIN {ServiceAccount._meta.db_table} a ON a.id = t.service_account_id "
        f"JOIN {User._meta.db_table} u ON u.id = a.user_id "
        f"LEFT JOIN {groups.db_table} ug ON ug.user_id = u.id "
        f"LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
        "WHERE t.prefix = %s"
    )
    return sql, token_fields, account_fields, user_fields


def token_with_roles(prefix: str) -> ApiToken | None:
    sql, token_fields, account_fields, user_fields = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        rows = cursor.fetchall()
    if not rows:
        return None
    first, cut = rows[0], (len(token_fields), len(token_fields) + len(account_fields))
    token = ApiToken.from_db(connection.alias, token_fields, _values(ApiToken, first[: cut[0]]))
    account = ServiceAccount.from_db(connection.alias, account_fields, _values(ServiceAccount, first[cut[0] : cut[1]]))
    user = get_user_model().from_db(connection.alias, user_fields, _values(get_user_model(), first[cut[1] : -1]))
    user.service_account = account  # caches both sides of the one-to-one
    user._role_names = {row[-1] for row in rows if row[-1] is not None}  # read by core.roles
    token.service_account = account
    return token


@functools.cache
def _personal_token_query() -> tuple[str, list, list]:
    """A person's token, the person, whether they are a service account (never allowed one) and their role
    names, in one statement, built like _token_query."""
    User = get_user_model()
    token_fields, token_cols = _columns(PersonalToken, "t")
    user_fields, user_cols = _columns(User, "u")
    groups = User.groups.through._meta
    sql = (
        f"SELECT {token_cols}, {user_cols}, s.id, g.name "  # noqa: S608
        f"FROM {PersonalToken._meta.db_table} t "
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {ServiceAccount._meta.db_table} s ON s.user_id = u.id "
        f"LEFT JOIN {groups.db_table} ug ON ug.user_id = u.id "
        f"LEFT JOIN {Group._meta.db_table} g ON g.id = ug.group_id "
        "WHERE t.prefix = %s"
    )
    return sql, token_fields, user_fields


def personal_token_with_roles(prefix: str) -> PersonalToken | None:
    sql, token_fields, user_fields = _personal_token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        rows = cursor.fetchall()
    if not rows:
        return None
    User, first, cut = get_user_model(), rows[0], len(token_fields)
    token = PersonalToken.from_db(connection.alias, token_fields, _values(PersonalToken, first[:cut]))
    user = User.from_db(connection.alias, user_fields, _values(User, first[cut:-2]))
    user._role_names = {row[-1] for row in rows if row[-1] is not None}  # read by core.roles
    token.held_by_service_account = first[-2] is not None
    if not token.held_by_service_account:
        # Known to be a person: actor_for and /me/ need not ask again.
        User.service_account.related.set_cached_value(user, None)
    token.user = user
    return token


def _values(model, raw: tuple) -> list:
    """Values as the ORM would give them: a raw query on SQLite returns naive UTC datetimes (or text)."""
    values = list(raw)
    for i, field in enumerate(model._meta.concrete_fields):
        if values[i] is not None and field.get_internal_type() == "DateTimeField":
            value = field.to_python(values[i])
            values[i] = timezone.make_aware(value, UTC) if timezone.is_naive(value) else value
    return values


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A service account's token (vt_...) or a person's personal API token (vtp_...).",
        }

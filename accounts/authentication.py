import functools
import hmac
from datetime import UTC, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiToken, ServiceAccount
from accounts.tokens import token_digest, token_prefix

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` for service accounts."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        return self._check(header[1])

    def _check(self, token: str):
        prefix = token_prefix(token)
        row = token_with_roles(prefix) if prefix else None
        if row is None or not hmac.compare_digest(row.digest, token_digest(token)):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if row.revoked_at or row.service_account.revoked_at or not row.service_account.user.is_active:
            raise exceptions.AuthenticationFailed("Token revoked.")
        now = timezone.now()
        # Recorded at most once a minute: a write on every request would cost the gate its throughput.
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.service_account.user, row

    def authenticate_header(self, request):
        return self.keyword


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
        return {"type": "http", "scheme": "bearer", "description": "A service account token (vt_...)."}

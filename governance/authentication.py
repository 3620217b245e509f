import hmac
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from governance.models import ApiToken
from governance.tokens import token_digest, token_prefix

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
        row = ApiToken.objects.select_related("service_account__user").filter(prefix=prefix).first() if prefix else None
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


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A service account token (vt_...)."}

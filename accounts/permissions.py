"""Who may manage personal API tokens over the API."""

from rest_framework.permissions import BasePermission

from accounts.models import ApiToken, PersonalToken
from accounts.selectors import is_service_account


class IsPerson(BasePermission):
    """Signed in as an active person: a service account has its own tokens, issued by a superuser."""

    message = "Personal API tokens are for people; service accounts have their own tokens."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active) or isinstance(request.auth, ApiToken):
            return False
        return not is_service_account(user)


class SignedInSession(BasePermission):
    """Issuing a token takes a signed-in person, not a token: a leaked token must not renew itself past its
    expiry."""

    message = "Issue personal API tokens signed in (the admin, or the API with a session), not with a token."

    def has_permission(self, request, view) -> bool:
        return not isinstance(request.auth, PersonalToken)

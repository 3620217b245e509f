"""Role checks for the API and the admin; views name the roles they admit, nothing else decides."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import roles


class _RolePermission(BasePermission):
    allowed: tuple[str, ...] = ()
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or roles.has_role(user, *self.allowed)))


def require_roles(*allowed: str) -> type[BasePermission]:
    names = "_".join(allowed) or "superuser"
    return type(f"Requires_{names}", (_RolePermission,), {"allowed": allowed})


IsSuperuser = require_roles()
IsComplianceOfficer = require_roles(roles.COMPLIANCE_OFFICER)
CanRegister = require_roles(roles.CI, roles.DATA_SCIENTIST)
READ_EVERYTHING = (roles.COMPLIANCE_OFFICER, roles.AUDITOR)


def reads_everything(user) -> bool:
    """Officers, auditors and superusers read every version's evidence, reports and trail; others their own."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or roles.has_role(user, *READ_EVERYTHING))
    )


class CanReadEverything(BasePermission):
    """The API's side of reads_everything (the admin asks the function itself)."""

    message = _RolePermission.message

    def has_permission(self, request, view) -> bool:
        return reads_everything(request.user)


CanVerifyTrail = CanReadEverything  # verifying the trail is reading all of it


class ReadOnly(BasePermission):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS


HasAnyRole = require_roles(*roles.ALL_ROLES)
CanPromote = require_roles(roles.CI, roles.DATA_SCIENTIST, roles.COMPLIANCE_OFFICER)

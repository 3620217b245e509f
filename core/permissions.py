"""Role checks for the API and the admin; views name the roles they admit, nothing else decides."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from core import roles
from core.errors import DomainError
from core.teams import team_ids_of


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


def acts_for_team(user, team_id: int) -> bool:
    """Who may write on a model (stage, archive, rollback, metadata, tags, aliases, deployments, monitoring
    windows, evidence and approval requests): its team's members, compliance officers (as far as their role
    lets them act at all) and superusers. The role a write needs is asked separately, by the view."""
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and (user.is_superuser or roles.has_role(user, roles.COMPLIANCE_OFFICER) or team_id in team_ids_of(user))
    )


def reads_team(user, team_id: int) -> bool:
    """Who reads a model's evidence, approval progress, checklists and data-set profiles: its team, officers,
    auditors and superusers."""
    return reads_everything(user) or bool(user and user.is_active and team_id in team_ids_of(user))


def _refused(model, doing: str) -> DomainError:
    return DomainError(
        "permission_denied",
        f"Model {model.name!r} belongs to another team; only its members, compliance officers and "
        f"administrators may {doing}.",
        status_code=403,
    )


def model_write_check(user, model) -> None:
    """The one ownership check of every write on a model and its versions (services call it)."""
    if not acts_for_team(user, model.team_id):
        raise _refused(model, "change it")


def model_read_check(user, model) -> None:
    """A named model whose evidence the user may not read answers 403 (model names are no secret: every
    role lists the models); listings leave other teams' rows out instead."""
    if not reads_team(user, model.team_id):
        raise _refused(model, "read its evidence")


def readable_rows(user, rows, model_path: str):
    """The rows of a listing the user may read: all for readers of everything, else those of models of the
    user's teams (`model_path` leads from the row to its registered model). Other teams' rows are left out,
    never refused, so a listing does not tell what exists."""
    if reads_everything(user):
        return rows
    return rows.filter(**{f"{model_path}__team__in": team_ids_of(user)})

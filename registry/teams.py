"""Which team owns a model: chosen at registration, moved by superusers only (audited)."""

from django.contrib.auth.models import Group
from django.db import transaction

from audits.services import actor_for, audit_event_append, object_ref
from core.errors import DomainError
from core.teams import is_team_name, team_ids_of, teams
from registry.models import RegisteredModel


def _invalid(message: str, problem: str) -> DomainError:
    return DomainError("invalid", f"team: {message}", fields={"team": [problem]})


def model_team_for(*, user, team: str | None) -> Group:
    """The team a new model goes to: the one named (which the registering account must belong to, unless it
    is a superuser), or the account's only team when none is named."""
    if team:
        row = teams().filter(name=team).first() if is_team_name(team) else None
        if row is None:
            raise _invalid(f"no team is named {team!r}.", "Not a team (teams are named team:<name>).")
        if not (user.is_superuser or row.pk in team_ids_of(user)):
            raise DomainError(
                "permission_denied",
                f"team: you are not a member of {team!r}.",
                fields={"team": ["Not your team."]},
                status_code=403,
            )
        return row
    own = list(teams().filter(pk__in=team_ids_of(user)))
    if len(own) == 1:
        return own[0]
    if not own:
        raise _invalid("you belong to no team; a superuser adds you to one.", "You belong to no team.")
    names = ", ".join(group.name for group in own)
    raise _invalid(f"you belong to several teams ({names}); name the one that owns the model.", "Required.")


@transaction.atomic
def model_team_change(*, model: RegisteredModel, team: Group, user) -> RegisteredModel:
    """Moves a model to another team: superusers administer ownership, nobody else."""
    if not (user and user.is_active and user.is_superuser):
        raise DomainError("permission_denied", "Only administrators move a model to another team.", status_code=403)
    if not is_team_name(team.name):
        raise _invalid(f"{team.name!r} is a role, not a team.", "Not a team.")
    model = RegisteredModel.objects.select_for_update().select_related("team").get(pk=model.pk)
    if model.team_id == team.pk:
        return model
    before = model.team.name
    model.team = team
    model.save(update_fields=["team"])
    audit_event_append(
        actor=actor_for(user),
        action="model.team_changed",
        object_ref=object_ref(model),
        data={"name": model.name, "from": before, "to": team.name},
    )
    return model

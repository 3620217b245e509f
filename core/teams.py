"""Teams own models. A team is a Django group whose name starts with `team:` (`team:payments`); the role
groups of core/roles.py never do, so one user may hold a role and belong to teams through the same
`groups` relation, and a superuser creates a team by adding such a group in the admin."""

from django.contrib.auth.models import Group

PREFIX = "team:"
DEFAULT_TEAM = "team:default"  # the team the models that existed before teams were given (a migration)


def is_team_name(name: str) -> bool:
    return name.startswith(PREFIX) and len(name) > len(PREFIX)


def teams():
    return Group.objects.filter(name__startswith=PREFIX).exclude(name=PREFIX).order_by("name")


def team_ids_of(user) -> frozenset[int]:
    """The ids of the teams the user belongs to (cached on the user for the request)."""
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_team_ids", None)
    if cached is None:
        cached = frozenset(
            user.groups.filter(name__startswith=PREFIX).exclude(name=PREFIX).values_list("pk", flat=True)
        )
        user._team_ids = cached
    return cached

"""Helpers for data migrations that grant model permissions to the role groups."""

from django.contrib.auth.management import create_permissions


def grant(apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """grants maps a role to codenames such as 'view_auditevent'."""
    # Permissions are normally created after migrations finish; make them exist now.
    config = apps.get_app_config(app_label)
    config.models_module = True  # the migration state's stub lacks it; create_permissions skips without it
    create_permissions(config, verbosity=0, apps=apps)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


def content_types_move(apps, old_label: str, new_label: str, models: list[str]) -> None:
    """A model moved between apps keeps its content type, and so its permissions and admin log entries."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in models:
        if not ContentType.objects.filter(app_label=new_label, model=model).exists():
            ContentType.objects.filter(app_label=old_label, model=model).update(app_label=new_label)


def content_types_move_back(apps, old_label: str, new_label: str, models: list[str]) -> None:
    content_types_move(apps, new_label, old_label, models)

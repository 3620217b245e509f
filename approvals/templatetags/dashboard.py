"""`{% approvals_dashboard as dashboard %}`: the panels of the admin's home page, for the signed-in person."""

from django import template

from approvals.dashboard import Dashboard, dashboard_for

register = template.Library()


@register.simple_tag(takes_context=True)
def approvals_dashboard(context) -> Dashboard | None:
    return dashboard_for(context["request"].user)

"""`{% person who %}`: a person as the page's reader may read them (audits.selectors.people_named): a name for
readers entitled to names, "erased person" after erasure, the pseudonym otherwise; the pseudonym stays in the
element's title, so the trail can still be searched for it."""

from django import template

from audits.selectors import person_shown

register = template.Library()


@register.simple_tag(takes_context=True)
def person(context, who) -> str:
    """`who`: a user row, or a pseudonym such as `user:7`, `service:ci-main` or `system`."""
    return person_shown(who, getattr(context.get("request"), "user", None))

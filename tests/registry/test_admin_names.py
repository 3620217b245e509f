"""Every model's plural, as the admin's index and breadcrumbs show it, is English."""

import re

from django.apps import apps


def test_no_model_is_named_with_a_doubled_plural():
    plurals = {model._meta.label: str(model._meta.verbose_name_plural) for model in apps.get_models()}
    wrong = {label: name for label, name in plurals.items() if re.search(r"(ss|[^aeiou]ys|xs|chs|shs)$", name)}
    assert wrong == {}
    assert plurals["registry.ModelAlias"] == "model aliases"
    assert plurals["registry.WebhookDelivery"] == "webhook deliveries"

"""The filters of the registry's model and version listings, declared once so the schema shows them."""

import django_filters
from django.db.models import Q

from registry.models import ModelVersion, RegisteredModel, RiskTier, Stage


class ModelFilter(django_filters.FilterSet):
    risk_tier = django_filters.ChoiceFilter(choices=RiskTier.choices, help_text="models of this risk tier")
    stage = django_filters.ChoiceFilter(
        choices=Stage.choices, method="with_version_in", help_text="models with a version in this stage"
    )
    search = django_filters.CharFilter(
        method="matching", help_text="text in the name, description, business owner or intended use"
    )

    class Meta:
        model = RegisteredModel
        fields = ["risk_tier", "stage", "search"]

    def with_version_in(self, queryset, name, value):
        return queryset.filter(versions__stage=value).distinct()

    def matching(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(business_owner__icontains=value)
            | Q(intended_use__icontains=value)
        )


class ModelVersionFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices, help_text="versions in this stage")
    risk_tier = django_filters.ChoiceFilter(
        field_name="model__risk_tier", choices=RiskTier.choices, help_text="versions of models of this risk tier"
    )
    search = django_filters.CharFilter(
        method="matching", help_text="text in the version, its description, framework or known limitations"
    )

    class Meta:
        model = ModelVersion
        fields = ["stage", "risk_tier", "search"]

    def matching(self, queryset, name, value):
        return queryset.filter(
            Q(version__icontains=value)
            | Q(description__icontains=value)
            | Q(framework__icontains=value)
            | Q(known_limitations__icontains=value)
        )

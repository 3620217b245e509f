"""Datetimes a caller sends (serializer fields and list filters) are held to a sane range: a year from
EARLIEST to LATEST and a UTC offset of at most MAX_OFFSET, which every real time zone keeps. Outside it,
Python's date arithmetic overflows (year 1 less a day) and PostgreSQL refuses the offset (+23:59:59), so such
a value is a 400 naming the field, never a 500 later."""

from datetime import datetime, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from rest_framework import serializers

EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(2999, 12, 31, 23, 59, 59)
MAX_OFFSET = timedelta(hours=14)


def datetime_problem(value: datetime) -> str | None:
    """Why the datetime is out of range, or None. Checked on the value as given, before any conversion."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        return "The UTC offset must be within ±14:00."
    if not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
        return f"Must be between {EARLIEST.date().isoformat()} and {LATEST.date().isoformat()}."
    return None


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, held to the range."""

    def enforce_timezone(self, value):
        problem = datetime_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="out_of_range")
        return super().enforce_timezone(value)


class _BoundedIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        parsed = super().to_python(value)  # an aware value comes back as given, a naive one in UTC
        problem = parsed and datetime_problem(parsed)
        if problem:
            raise forms.ValidationError(problem, code="out_of_range")
        return parsed


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's ISO 8601 filter, held to the range."""

    field_class = _BoundedIsoDateTimeField

"""Input serializers that refuse what they do not declare: a misspelt or unsupported key is a 400 naming it,
never dropped silently (a `tagz` that vanishes looks like success to the caller and to the trail)."""

import difflib
import re
from collections.abc import Mapping

from rest_framework import serializers
from rest_framework.utils import html

# Form data spells a list as name[0], name[1]... and a mapping or nested serializer as name.key (DRF's
# html.parse_html_list and parse_html_dict); such keys belong to the field they are prefixed with.
_FORM_LIST_KEY = re.compile(r"^([^.\[\]]+)\[[0-9]+\]")
_FORM_DICT_KEY = re.compile(r"^([^.\[\]]+)\.")
_LIST_FIELDS = (serializers.ListField, serializers.ListSerializer)
_DICT_FIELDS = (serializers.DictField, serializers.Serializer)


def unknown_field_errors(data, fields: dict[str, serializers.Field]) -> dict[str, list[str]]:
    """Each key of the input that names no writable field, with the error that names it."""
    if not isinstance(data, Mapping):
        return {}
    form = html.is_html_input(data)
    unknown = [str(key) for key in data if not (str(key) in fields or (form and _form_key_known(str(key), fields)))]
    return {key: [_message(key, fields)] for key in unknown}


def _form_key_known(key: str, fields: dict[str, serializers.Field]) -> bool:
    listed, mapped = _FORM_LIST_KEY.match(key), _FORM_DICT_KEY.match(key)
    if listed and isinstance(fields.get(listed.group(1)), _LIST_FIELDS):
        return True
    return bool(mapped and isinstance(fields.get(mapped.group(1)), _DICT_FIELDS))


def _message(key: str, fields) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1)
    return f"Unknown field; did you mean {close[0]}?" if close else "Unknown field."


# The base of every input serializer: unknown keys are refused along with the other field errors. Nested
# strict serializers refuse theirs too, so the error names the path (`metadata.lineage.pipline`). Comments,
# not docstrings, here: drf-spectacular would show a base class's docstring on every schema built on it.
class StrictSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if self.parent is not None and not isinstance(data, Mapping):
            # Nested: the error belongs to the field itself (`lineage`), not to `lineage.non_field_errors`.
            message = self.error_messages["invalid"].format(datatype=type(data).__name__)
            raise serializers.ValidationError([message], code="invalid")
        unknown = unknown_field_errors(data, {field.field_name: field for field in self._writable_fields})
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return values


class NoInput(StrictSerializer):
    """For an operation that takes no body: any field sent to it is unknown."""


def refuse_input(data) -> None:
    """Raises the one 400 for a body sent to an operation that reads none (`{}` and no body pass)."""
    NoInput(data=data).is_valid(raise_exception=True)

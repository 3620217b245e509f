"""Strict input serializers: every key that names no field is refused, in JSON and in form data alike."""

import pytest
from django.http import QueryDict
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import serializers

from core.errors import exception_handler
from core.serializers import StrictSerializer, refuse_input
from registry.serializers import LineageSerializer, VersionMetadataSerializer


class Inner(StrictSerializer):
    code_commit = serializers.CharField(required=False)


class Outer(StrictSerializer):
    name = serializers.CharField()
    tags = serializers.DictField(required=False)
    items = serializers.ListField(child=serializers.IntegerField(), required=False)
    schema = serializers.JSONField(required=False)
    lineage = Inner(required=False)
    id = serializers.IntegerField(read_only=True)


def _errors(data, **kwargs) -> dict:
    checked = Outer(data=data, **kwargs)
    assert not checked.is_valid()
    return checked.errors


def _rendered(data) -> dict:
    with pytest.raises(serializers.ValidationError) as caught:
        Outer(data=data).is_valid(raise_exception=True)
    return exception_handler(caught.value, {}).data


def test_a_misspelt_key_is_refused_with_a_suggestion():
    assert _errors({"name": "a", "tagz": {"team": "risk"}}) == {"tagz": ["Unknown field; did you mean tags?"]}


def test_a_key_like_no_field_is_refused_plainly():
    assert _errors({"name": "a", "expires_in_days": 30}) == {"expires_in_days": ["Unknown field."]}


def test_unknown_keys_are_reported_with_the_other_errors():
    errors = _errors({"nmae": "a", "bogus": 1})
    assert errors["name"] == ["This field is required."]
    assert set(errors) == {"name", "nmae", "bogus"}


def test_a_nested_serializer_names_the_path_in_the_one_error_shape():
    body = _rendered({"name": "a", "lineage": {"code_commit": "a1b2c3d", "pipline": "gitlab-ci"}})
    assert body["error"]["code"] == "invalid"
    assert body["error"]["fields"] == {"lineage.pipline": ["Unknown field."]}
    assert body["error"]["message"] == "lineage.pipline: Unknown field."


def test_a_nested_serializer_given_no_object_names_the_field_itself():
    assert _errors({"name": "a", "lineage": "a1b2c3d"}) == {
        "lineage": ["Invalid data. Expected a dictionary, but got str."]
    }


def test_a_read_only_field_is_no_input():
    assert _errors({"name": "a", "id": 7}) == {"id": ["Unknown field."]}


def test_a_partial_update_refuses_unknown_keys_too():
    assert _errors({"validity_day": 30}, partial=True) == {"validity_day": ["Unknown field."]}


def test_known_keys_pass_and_keep_their_values():
    checked = Outer(data={"name": "a", "tags": {"team": "risk"}, "items": [1, 2], "lineage": {"code_commit": "x"}})
    assert checked.is_valid(), checked.errors
    assert checked.validated_data["lineage"] == {"code_commit": "x"}


def test_form_data_keys_of_lists_and_mappings_belong_to_their_field():
    form = QueryDict("name=a&tags.team=risk&items[0]=1&items[1]=2&lineage.code_commit=abc", mutable=True)
    checked = Outer(data=form)
    assert checked.is_valid(), checked.errors
    assert checked.validated_data["items"] == [1, 2] and checked.validated_data["tags"] == {"team": "risk"}


def test_form_data_keys_that_no_field_reads_are_refused():
    # A JSON field reads only its own key from a form; name[0] is no list and schema.x no mapping.
    form = QueryDict("name=a&schema.x=1&name[0]=b&comment=hi&lineage.pipline=x", mutable=True)
    errors = _errors(form)
    assert set(errors) == {"schema.x", "name[0]", "comment", "lineage"}
    assert errors["lineage"] == {"pipline": ["Unknown field."]}


def test_an_operation_without_a_body_refuses_any_field():
    refuse_input({})
    refuse_input(QueryDict(""))
    with pytest.raises(serializers.ValidationError) as caught:
        refuse_input({"reason": "superseded"})
    assert caught.value.detail == {"reason": ["Unknown field."]}


def _views(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
            yield pattern.callback.cls


def _nested(serializer):
    for field in serializer.fields.values():
        field = getattr(field, "child", field)
        if isinstance(field, serializers.Serializer):
            yield type(field)
            yield from _nested(field)


def _input_serializers():
    found = {VersionMetadataSerializer}
    for view in _views(get_resolver().url_patterns):
        found |= {
            value
            for name, value in vars(view).items()
            if isinstance(value, type) and issubclass(value, serializers.Serializer) and "Input" in name
        }
    return found


def test_every_input_serializer_of_the_api_is_strict_down_to_its_nested_ones():
    inputs = _input_serializers()
    assert len(inputs) >= 17  # every write endpoint with a body, and the version's JSON metadata
    nested = {kind for serializer in inputs for kind in _nested(serializer())}
    assert LineageSerializer in nested
    loose = sorted(kind.__qualname__ for kind in inputs | nested if not issubclass(kind, StrictSerializer))
    assert loose == []

import re

import pytest

from mlflow_api.filters import Clause, FilterInvalid, like_regex, parse_filter

KEYS = frozenset({"name", "run_id"})


def test_clauses_joined_by_and_with_tags_in_either_spelling():
    parsed = parse_filter(
        "name LIKE 'credit%' AND tag.`mlflow.prompt.is_prompt` != 'true' and tags.team = \"risk\"", KEYS
    )
    assert parsed == [
        Clause("name", "LIKE", "credit%"),
        Clause("tags.mlflow.prompt.is_prompt", "!=", "true"),
        Clause("tags.team", "=", "risk"),
    ]


def test_an_empty_filter_has_no_clauses():
    assert parse_filter("", KEYS) == [] and parse_filter(None, KEYS) == []


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("metrics.auc > 0.8", "cannot read"),
        ("name = 'a' OR name = 'b'", "cannot read"),
        ("source = 'x'", "cannot filter on 'source'"),
        ("name = unquoted", "cannot read"),
    ],
)
def test_what_cannot_be_honoured_is_refused_by_name(text, says):
    with pytest.raises(FilterInvalid, match=re.escape(says)):
        parse_filter(text, KEYS)


def test_like_patterns_become_anchored_expressions():
    pattern = like_regex("credit_%.v1")
    assert re.fullmatch(pattern, "credit-scoring.v1") and not re.fullmatch(pattern, "creditscoring.v1x")

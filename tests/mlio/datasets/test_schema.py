"""The declaration itself: checked before any file is read."""

import json

import pytest

from mlio.datasets import DatasetInvalid, DatasetSchema, inspect_dataset
from tests.mlio.datasets.builders import LIMIT, credit_frame, credit_schema, housing_schema


def problems_of(declaration) -> dict[str, list[str]]:
    with pytest.raises(DatasetInvalid) as caught:
        DatasetSchema.from_dict(declaration)
    return caught.value.problems


def test_a_valid_declaration_round_trips_through_json():
    schema = DatasetSchema.from_dict(credit_schema(score="p_approved"))

    assert schema.features == ["age", "income", "employment"]
    assert schema.sensitive_features == ["race", "sex"]
    assert (schema.target, schema.positive_label, schema.score) == ("approved", 1, "p_approved")
    assert DatasetSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_optional_fields_default_to_none_and_empty():
    schema = DatasetSchema.from_dict({"features": ["x"], "task": "regression"})

    assert schema.to_dict() == {
        "features": ["x"],
        "target": None,
        "positive_label": None,
        "task": "regression",
        "sensitive_features": [],
        "prediction": None,
        "score": None,
    }


def test_an_unknown_task_is_named():
    problems = problems_of(credit_schema(task="multiclass"))

    assert problems == {"schema.task": ["must be binary_classification or regression"]}


def test_the_target_listed_among_the_features_is_refused():
    problems = problems_of(credit_schema(features=["age", "approved"]))

    assert problems == {"schema.target": ["'approved' is also listed among the features"]}


def test_the_prediction_listed_among_the_features_is_refused():
    problems = problems_of(credit_schema(prediction="age"))

    assert problems == {"schema.prediction": ["'age' is also listed among the features"]}


def test_a_feature_listed_twice_is_refused():
    problems = problems_of(credit_schema(features=["age", "income", "age"]))

    assert problems == {"schema.features": ["lists 'age' 2 times"]}


def test_binary_classification_with_a_target_needs_a_positive_label():
    declaration = credit_schema()
    del declaration["positive_label"]

    problems = problems_of(declaration)

    assert problems == {
        "schema.positive_label": ["is required for binary_classification when a target or prediction is declared"]
    }


def test_a_prediction_alone_also_needs_a_positive_label():
    problems = problems_of({"features": ["x"], "prediction": "vendor", "task": "binary_classification"})

    assert list(problems) == ["schema.positive_label"]


def test_features_only_needs_no_positive_label():
    schema = DatasetSchema.from_dict({"features": ["x"], "task": "binary_classification"})

    assert schema.positive_label is None


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"features": []}, "schema.features", "must list at least one column"),
        ({"features": "age"}, "schema.features", "must be a list of column names"),
        ({"features": ["age", ""]}, "schema.features", "non-empty strings"),
        ({"target": ""}, "schema.target", "non-empty string"),
        ({"prediction": "approved"}, "schema.prediction", "same column as the target"),
        ({"score": "approved"}, "schema.score", "not the target or the prediction"),
        ({"sensitive_features": ["race", "approved"]}, "schema.sensitive_features", "'approved' is declared as"),
        ({"positive_label": [1]}, "schema.positive_label", "must be a string, number or boolean"),
        ({"positive_label": float("nan")}, "schema.positive_label", "must be a string, number or boolean"),
        ({"weights": "w"}, "schema.weights", "unknown field"),
    ],
)
def test_declaration_problems_name_their_field(changes, field, fragment):
    problems = problems_of(credit_schema(**changes))

    assert field in problems
    assert any(fragment in message for message in problems[field]), problems


def test_regression_refuses_a_positive_label_and_a_score():
    problems = problems_of(housing_schema(positive_label=1, score="p"))

    assert problems == {
        "schema.positive_label": ["only applies to binary_classification"],
        "schema.score": ["only applies to binary_classification (a predicted probability)"],
    }


def test_a_sensitive_feature_may_also_be_a_feature():
    schema = DatasetSchema.from_dict(credit_schema(features=["age", "sex"]))

    assert schema.roles()["sex"] == ["sensitive", "feature"]


def test_every_declaration_problem_is_reported_at_once():
    problems = problems_of({"features": ["a", "y"], "target": "y", "task": "ranking"})

    assert set(problems) == {"schema.task", "schema.target"}


def test_a_declaration_that_is_not_an_object_is_refused():
    assert problems_of(["age"]) == {"schema": ["must be an object with features, task and the other schema fields"]}


def test_the_message_summarises_the_first_problem():
    with pytest.raises(DatasetInvalid) as caught:
        DatasetSchema.from_dict(credit_schema(task="multiclass"))

    assert caught.value.message == "schema.task: must be binary_classification or regression"
    assert str(caught.value) == caught.value.message


def test_inspect_checks_a_hand_built_schema_before_reading_the_file(write_csv):
    path = write_csv(credit_frame())
    schema = DatasetSchema(features=["age", "approved"], target="approved", task="binary_classification")

    with pytest.raises(DatasetInvalid) as caught:
        inspect_dataset(path, schema, max_bytes=LIMIT)

    assert set(caught.value.problems) == {"schema.target", "schema.positive_label"}

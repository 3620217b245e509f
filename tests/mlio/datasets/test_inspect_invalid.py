"""Refused uploads: each problem names its field, and all problems come back together."""

import datetime
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlio.datasets import DatasetInvalid, DatasetSchema, inspect_dataset
from tests.mlio.datasets.builders import (
    LIMIT,
    credit_frame,
    credit_schema,
    housing_frame,
    housing_schema,
    schema_of,
)


def problems_of(path, declaration: dict | DatasetSchema, **limits) -> dict[str, list[str]]:
    schema = declaration if isinstance(declaration, DatasetSchema) else schema_of(declaration)
    with pytest.raises(DatasetInvalid) as caught:
        inspect_dataset(path, schema, **{"max_bytes": LIMIT, **limits})
    return caught.value.problems


def test_a_declared_column_missing_from_the_file(write_csv):
    path = write_csv(credit_frame().drop(columns="income"))

    problems = problems_of(path, credit_schema())

    assert problems == {"columns.income": ["declared as a feature but missing from the file"]}


def test_a_missing_column_with_a_near_spelling_is_pointed_out(write_csv):
    path = write_csv(credit_frame().rename(columns={"income": "Income "}))

    problems = problems_of(path, credit_schema())

    assert problems == {"columns.income": ["declared as a feature but missing from the file (the file has 'Income ')"]}


def test_a_target_with_three_values(write_csv):
    path = write_csv(credit_frame().assign(approved=[1, 0, 2, 0, 1, 0, 1, 0]))

    problems = problems_of(path, credit_schema())

    assert problems == {
        "columns.approved": ["must have exactly two values for binary_classification; found 3: 0, 1, 2"]
    }


def test_at_most_five_values_are_listed(write_csv):
    path = write_csv(credit_frame().assign(approved=["a", "b", "c", "d", "e", "f", "g", "a"]))

    problems = problems_of(path, credit_schema(positive_label="a"))

    assert problems["columns.approved"] == [
        "must have exactly two values for binary_classification; found 7: 'a', 'b', 'c', 'd', 'e', …"
    ]


def test_a_target_with_one_value(write_csv):
    path = write_csv(credit_frame().assign(approved=1))

    problems = problems_of(path, credit_schema())

    assert problems == {"columns.approved": ["has only one value (1); binary_classification needs two"]}


def test_a_target_without_the_positive_label(write_csv):
    path = write_csv(credit_frame())

    problems = problems_of(path, credit_schema(positive_label=2))

    assert problems == {"columns.approved": ["does not contain the positive_label 2; values seen: 0, 1"]}


def test_a_positive_label_that_cannot_be_a_value_of_the_column(write_csv):
    path = write_csv(credit_frame())

    problems = problems_of(path, credit_schema(positive_label="yes"))

    assert problems == {"columns.approved": ["cannot hold the positive_label 'yes': the column holds integers"]}


def test_missing_values_in_the_target(write_csv):
    path = write_csv(credit_frame().assign(approved=[1, 0, None, 0, 1, None, 1, 0]))

    problems = problems_of(path, credit_schema())

    assert problems == {"columns.approved": ["has 2 missing values; the target must be known for every row"]}


def test_a_sensitive_feature_with_a_single_group(write_csv):
    path = write_csv(credit_frame().assign(sex="F"))

    problems = problems_of(path, credit_schema())

    assert problems == {"columns.sex": ["has only one group ('F'); comparing groups needs at least two"]}


def test_missing_values_in_a_sensitive_feature(write_csv):
    path = write_csv(credit_frame().assign(race=["A", "B", None, "B", "C", "A", "B", "A"]))

    problems = problems_of(path, credit_schema())

    assert problems == {"columns.race": ["has 1 missing value; every row needs a known group"]}


def test_a_prediction_with_a_missing_value(write_csv):
    frame = credit_frame().assign(decision=[1, 0, np.nan, 0, 1, 0, 1, 0])

    problems = problems_of(write_csv(frame), credit_schema(prediction="decision"))

    assert problems == {"columns.decision": ["has 1 missing value; the prediction must be known for every row"]}


def test_a_regression_target_of_strings(write_csv):
    frame = housing_frame().assign(price=["cheap", "dear", "cheap", "dear", "fair"])

    problems = problems_of(write_csv(frame), housing_schema())

    assert problems == {
        "columns.price": ["must be numeric for regression; found values such as 'cheap', 'dear', 'fair'"]
    }


def test_a_regression_target_with_an_infinity(write_csv):
    frame = housing_frame().assign(price=[1.0, np.inf, 2.0, 3.0, 4.0])

    problems = problems_of(write_csv(frame), housing_schema())

    assert problems == {"columns.price": ["contains infinite values"]}


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([0.1, 0.2, 1.5, 0.0, 0.3, 0.9, 0.4, 0.5], "must lie between 0 and 1; found values from 0.0 to 1.5"),
        (["low", "high"] * 4, "must be numeric for a score; found values such as 'high', 'low'"),
        ([0.1, None, 0.3, 0.0, 0.3, 0.9, 0.4, 0.5], "has 1 missing value; the score must be known for every row"),
    ],
)
def test_a_score_must_be_a_known_probability(write_csv, scores, message):
    path = write_csv(credit_frame().assign(p=scores))

    problems = problems_of(path, credit_schema(score="p"))

    assert problems == {"columns.p": [message]}


def test_a_header_without_rows(write_csv):
    path = write_csv("age,income,employment,race,sex,approved\n")

    problems = problems_of(path, credit_schema())

    assert problems == {"file": ["has no data rows"]}


def test_random_bytes(write_csv):
    path = write_csv(np.random.default_rng(3).bytes(2048))

    problems = problems_of(path, credit_schema())

    assert list(problems) == ["file"]
    assert "binary data" in problems["file"][0] or "not UTF-8" in problems["file"][0]


def test_a_ragged_csv_reports_the_parser_message(write_csv):
    path = write_csv("age,income,employment,race,sex,approved\n30,1,a,A,F,1\n40,2,b,B,M,0,surplus\n")

    problems = problems_of(path, credit_schema())

    assert problems == {
        "file": ["could not be parsed as CSV: Error tokenizing data. C error: Expected 6 fields in line 3, saw 7"]
    }


def test_an_unterminated_quote_is_refused(write_csv):
    rows = "".join(f"{i},1,a,A,F,{i % 2}\n" for i in range(2000))
    path = write_csv('age,income,employment,race,sex,approved\n5,"2,b,B,M,0\n' + rows)

    problems = problems_of(path, credit_schema())

    assert problems == {
        "file": ["could not be parsed as CSV: Error tokenizing data. C error: EOF inside string starting at row 1"]
    }


def test_an_unreadable_file_still_reports_missing_declared_columns(write_csv):
    path = write_csv("age,sex\n1,F\n2,M,extra\n")

    problems = problems_of(path, credit_schema())

    assert list(problems)[0] == "file"
    assert {"columns.income", "columns.employment", "columns.race", "columns.approved"} <= set(problems)


def test_an_oversize_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:
        fh.truncate(101 << 20)  # sparse NUL bytes: reading them would report binary data instead

    problems = problems_of(path, credit_schema(), max_bytes=100 << 20)

    assert problems == {"file": ["larger than the limit of 100 MB (the file is 101 MB)"]}


def test_a_small_limit_is_stated_in_bytes(write_csv):
    problems = problems_of(write_csv(credit_frame()), credit_schema(), max_bytes=100)

    assert problems["file"][0].startswith("larger than the limit of 100 bytes (the file is ")


def test_too_many_rows(write_csv):
    problems = problems_of(write_csv(credit_frame()), credit_schema(), max_rows=5)

    assert problems == {"file": ["has 8 rows, more than the limit of 5"]}


def test_schema_problems_come_back_before_the_file_is_read(write_csv):
    path = write_csv(b"\x00not even a csv")
    schema = DatasetSchema(features=["age", "approved"], target="approved", task="multiclass")  # type: ignore[arg-type]

    problems = problems_of(path, schema)

    assert set(problems) == {"schema.task", "schema.target"}


def test_repeated_declared_columns_with_different_values(write_csv):
    path = write_csv("age,sex,age,y\n30,F,31,1\n40,M,40,0\n")
    schema = {"features": ["age"], "target": "y", "positive_label": 1, "task": "binary_classification"}

    problems = problems_of(path, schema)

    assert problems == {
        "columns.age": ["declared as a feature but appears 2 times in the file with different values; keep one"]
    }


def test_features_of_unsupported_types_in_parquet(tmp_path):
    path = tmp_path / "typed.parquet"
    table = pa.table(
        {
            "born": pa.array([datetime.date(1990, 1, 1), datetime.date(1985, 6, 1)]),
            "tags": pa.array([[1, 2], [3]]),
            "y": pa.array([1, 0]),
        }
    )
    pq.write_table(table, path)
    schema = {"features": ["born", "tags"], "target": "y", "positive_label": 1, "task": "binary_classification"}

    problems = problems_of(path, schema)

    assert problems == {
        "columns.born": ["has values of type date; it must be numeric, boolean or text"],
        "columns.tags": ["has values of type ndarray; it must be numeric, boolean or text"],
    }


def test_several_problems_are_all_reported(write_csv):
    frame = credit_frame().drop(columns="income").assign(approved=[1, 0, 2, 0, 1, None, 1, 0], sex="F")

    problems = problems_of(write_csv(frame), credit_schema())

    assert problems == {
        "columns.income": ["declared as a feature but missing from the file"],
        "columns.sex": ["has only one group ('F'); comparing groups needs at least two"],
        "columns.approved": [
            "has 1 missing value; the target must be known for every row",
            "must have exactly two values for binary_classification; found 3: 0.0, 1.0, 2.0",
        ],
    }


def test_the_message_names_the_first_problem(write_csv):
    path = write_csv(credit_frame().drop(columns="age"))

    with pytest.raises(DatasetInvalid) as caught:
        inspect_dataset(path, schema_of(credit_schema()), max_bytes=LIMIT)

    assert caught.value.message == "columns.age: declared as a feature but missing from the file"


def test_a_parquet_file_with_a_bad_footer(write_parquet, tmp_path):
    whole = bytearray(write_parquet(credit_frame()).read_bytes())
    whole[-8:-4] = (10**6).to_bytes(4, "little")  # a footer length longer than the file
    path = tmp_path / "broken.parquet"
    path.write_bytes(bytes(whole))

    problems = problems_of(path, credit_schema())

    assert list(problems) == ["file"]
    assert problems["file"][0].startswith("could not be read as Parquet: ")


def test_a_missing_file_is_a_programming_error_not_a_problem(tmp_path):
    with pytest.raises(FileNotFoundError):
        inspect_dataset(tmp_path / "absent.csv", schema_of(credit_schema()), max_bytes=LIMIT)
    assert not os.path.exists(tmp_path / "absent.csv")

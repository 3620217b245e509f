"""Accepted uploads and the profile they produce."""

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlio.datasets import DatasetFormat, inspect_dataset
from tests.mlio.datasets.builders import (
    LIMIT,
    credit_frame,
    credit_schema,
    housing_frame,
    housing_schema,
    schema_of,
)


def test_a_binary_classification_csv_is_profiled(write_csv):
    path = write_csv(credit_frame())

    profile = inspect_dataset(path, schema_of(credit_schema()), max_bytes=LIMIT)

    assert profile.format is DatasetFormat.CSV
    assert profile.rows == 8
    assert profile.size == path.stat().st_size
    assert profile.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert profile.positive_rate == pytest.approx(3 / 8)
    assert profile.groups == {"race": {"A": 4, "B": 3, "C": 1}, "sex": {"F": 4, "M": 4}}
    assert {entry["name"]: entry["missing"] for entry in profile.columns} == {
        "age": 0,
        "income": 2,
        "employment": 1,
        "race": 0,
        "sex": 0,
        "approved": 0,
    }


def test_columns_carry_role_type_distinct_count_and_range(write_csv):
    path = write_csv(credit_frame().assign(note="x"))

    profile = inspect_dataset(path, schema_of(credit_schema()), max_bytes=LIMIT)

    assert profile.column("age") == {
        "name": "age",
        "dtype": "int64",
        "role": "feature",
        "missing": 0,
        "distinct": 8,
        "distinct_capped": False,
        "min": 25,
        "max": 60,
    }
    assert profile.column("income")["min"] == 30000.0
    assert profile.column("employment")["dtype"] == "str"
    assert profile.column("employment")["min"] is None
    assert profile.column("race")["role"] == "sensitive"
    assert profile.column("approved")["role"] == "target"
    assert profile.column("note")["role"] == "other"


def test_the_same_data_in_parquet_gives_the_same_profile(write_csv, write_parquet):
    schema = schema_of(credit_schema())
    from_csv = inspect_dataset(write_csv(credit_frame()), schema, max_bytes=LIMIT)

    from_parquet = inspect_dataset(write_parquet(credit_frame()), schema, max_bytes=LIMIT)

    assert from_parquet.format is DatasetFormat.PARQUET
    assert from_parquet.rows == from_csv.rows
    assert from_parquet.positive_rate == from_csv.positive_rate
    assert from_parquet.groups == from_csv.groups
    assert from_parquet.columns == from_csv.columns


def test_a_regression_dataset_with_predictions_is_accepted(write_csv):
    path = write_csv(housing_frame())

    profile = inspect_dataset(path, schema_of(housing_schema()), max_bytes=LIMIT)

    assert profile.rows == 5
    assert profile.positive_rate is None
    assert profile.groups == {}
    assert profile.column("price")["role"] == "target"
    assert profile.column("predicted_price")["role"] == "prediction"
    assert (profile.column("price")["min"], profile.column("price")["max"]) == (150500.0, 720000.0)


@pytest.mark.parametrize(
    ("values", "label"),
    [
        (["1", "0", "1", "0"], 1),  # a CSV "1" read as 1, declared 1
        ([1, 0, 1, 0], "1"),  # declared as text, read as a number
        ([1, 0, 1, 0], True),
        ([1.0, 0.0, 1.0, 0.0], 1),
        (["yes", "no", "yes", "no"], "yes"),
        ([True, False, True, False], "true"),
    ],
)
def test_the_positive_label_is_compared_type_tolerantly(write_csv, values, label):
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": values})
    schema = schema_of({"features": ["x"], "target": "y", "positive_label": label, "task": "binary_classification"})

    profile = inspect_dataset(write_csv(frame), schema, max_bytes=LIMIT)

    assert profile.positive_rate == 0.5


def test_a_vendor_prediction_with_a_score_is_accepted_without_a_target(write_csv):
    frame = credit_frame().drop(columns="approved").assign(decision=[1, 0, 0, 1, 1, 0, 1, 0], p=np.linspace(0, 1, 8))
    schema = schema_of(credit_schema(target=None, prediction="decision", score="p"))

    profile = inspect_dataset(write_csv(frame), schema, max_bytes=LIMIT)

    assert profile.positive_rate is None
    assert profile.column("decision")["role"] == "prediction"
    assert profile.column("p")["role"] == "score"


def test_a_sensitive_feature_used_as_a_feature_is_profiled_once(write_csv):
    schema = schema_of(credit_schema(features=["age", "sex"]))

    profile = inspect_dataset(write_csv(credit_frame()), schema, max_bytes=LIMIT)

    assert [entry["name"] for entry in profile.columns].count("sex") == 1
    assert profile.column("sex")["role"] == "sensitive"


def test_the_profile_is_strict_json(write_csv):
    frame = credit_frame().assign(empty=np.nan, ratio=[-np.inf, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])

    profile = inspect_dataset(write_csv(frame), schema_of(credit_schema()), max_bytes=LIMIT)
    data = json.loads(json.dumps(profile.to_dict(), allow_nan=False))

    assert data["format"] == "csv"
    assert data["columns"][-2] == {
        "name": "empty",
        "dtype": "float64",
        "role": "other",
        "missing": 8,
        "distinct": 0,
        "distinct_capped": False,
        "min": None,
        "max": None,
    }
    assert data["columns"][-1]["max"] == 7.0
    assert data["columns"][-1]["min"] is None  # an infinity is not JSON


def test_groups_and_distinct_counts_are_capped(write_csv):
    n = 1200
    frame = pd.DataFrame({"x": range(n), "g": [f"g{i % 60:02d}" for i in range(n)], "y": [0, 1] * (n // 2)})
    schema = schema_of(
        {
            "features": ["x"],
            "target": "y",
            "positive_label": 1,
            "task": "binary_classification",
            "sensitive_features": ["g"],
        }
    )

    profile = inspect_dataset(write_csv(frame), schema, max_bytes=LIMIT)

    assert len(profile.groups["g"]) == 50
    assert profile.column("g")["distinct"] == 60
    assert (profile.column("x")["distinct"], profile.column("x")["distinct_capped"]) == (1000, True)


def test_leading_zeros_keep_a_column_as_text(write_csv):
    zips = [f"{n:05d}" for n in range(10_000, 60_000)] + ["02134"]  # the only leading zero is in the last row
    frame = pd.DataFrame({"zip": zips, "y": [0, 1] * (len(zips) // 2) + [1]})
    schema = schema_of({"features": ["zip"], "target": "y", "positive_label": 1, "task": "binary_classification"})

    profile = inspect_dataset(write_csv(frame), schema, max_bytes=LIMIT)

    assert profile.column("zip")["dtype"] == "str"
    assert profile.column("zip")["distinct"] == 1000  # capped: every zip is distinct
    assert profile.column("y")["dtype"] == "int64"


def test_a_header_with_a_byte_order_mark_matches_the_declaration(write_csv):
    path = write_csv(b"\xef\xbb\xbf" + credit_frame().to_csv(index=False).encode())

    profile = inspect_dataset(path, schema_of(credit_schema()), max_bytes=LIMIT)

    assert profile.column("age")["role"] == "feature"


def test_repeated_columns_with_identical_copies_are_accepted_with_a_warning(write_csv):
    text = "age,sex,age,y,\n30,F,30,1,\n40,M,40,0,\n"
    schema = schema_of(
        {
            "features": ["age"],
            "target": "y",
            "positive_label": 1,
            "task": "binary_classification",
            "sensitive_features": ["sex"],
        }
    )

    profile = inspect_dataset(write_csv(text), schema, max_bytes=LIMIT)

    assert [entry["name"] for entry in profile.columns] == ["age", "sex", "age.1", "y", "Unnamed: 4"]
    assert profile.warnings == [
        "column 'age' appears more than once; a copy is read as 'age.1'",
        "a column has no name; it is read as 'Unnamed: 4'",
    ]


def test_short_rows_are_padded_with_missing_values_as_pandas_does(write_csv):
    # pyarrow refuses the short row and the blank-looking line, so the zip text comes from the C parser.
    path = write_csv("zip,age,income,y\n02134,30,100,1\n10001,40,200\n \n60601,50,,0\n")
    schema = schema_of({"features": ["zip", "age", "income"], "task": "binary_classification"})

    profile = inspect_dataset(path, schema, max_bytes=LIMIT)

    assert profile.rows == 3
    assert profile.column("income")["missing"] == 1
    assert profile.column("y")["missing"] == 1
    assert profile.column("zip")["dtype"] == "str"


def test_quoted_values_may_span_lines(write_csv):
    frame = pd.DataFrame({"comment": ["fine", "two\nlines", 'says "hi", twice'], "y": [1, 0, 1]})
    schema = schema_of({"features": ["comment"], "target": "y", "positive_label": 1, "task": "binary_classification"})

    profile = inspect_dataset(write_csv(frame), schema, max_bytes=LIMIT)

    assert profile.rows == 3


def test_a_column_is_typed_from_all_its_rows_not_chunk_by_chunk(write_csv):
    # pandas' low-memory mode would type each chunk on its own and mix ints with strings in one column.
    n = 300_000
    codes = [str(i) for i in range(n - 1)] + ["unknown"]
    frame = pd.DataFrame({"code": codes, "y": [0, 1] * (n // 2)})
    schema = schema_of({"features": ["code"], "target": "y", "positive_label": 1, "task": "binary_classification"})

    profile = inspect_dataset(write_csv(frame), schema, max_bytes=LIMIT)

    assert profile.column("code")["dtype"] == "str"


def test_a_blank_looking_line_is_skipped_as_pandas_does(write_csv):
    # pyarrow reads the line as a value where pandas skips it: the row counts disagree, and pandas wins.
    path = write_csv("zip\n02134\n \n10001\n")

    profile = inspect_dataset(path, schema_of({"features": ["zip"], "task": "regression"}), max_bytes=LIMIT)

    assert profile.rows == 2
    assert profile.column("zip")["dtype"] == "str"


def test_undeclared_columns_of_any_parquet_type_are_profiled(tmp_path):
    path = tmp_path / "nested.parquet"
    table = pa.table({"x": [1.5, 2.5], "tags": pa.array([[1, 2], [3]]), "meta": [{"k": 1}, {"k": 2}], "y": [1, 0]})
    pq.write_table(table, path)
    schema = schema_of({"features": ["x"], "target": "y", "positive_label": 1, "task": "binary_classification"})

    profile = inspect_dataset(path, schema, max_bytes=LIMIT)

    assert profile.column("tags")["role"] == "other"
    assert profile.column("tags")["distinct"] is None
    assert json.dumps(profile.to_dict(), allow_nan=False)

"""The one loader the evidence workers use, and the label encoding they rely on."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlio.datasets import DatasetFormat, DatasetInvalid, binary_labels, inspect_dataset, load_frame
from tests.mlio.datasets.builders import LIMIT, credit_frame, credit_schema, schema_of


def test_load_frame_returns_what_inspect_validated(write_csv):
    frame = credit_frame().assign(zip=["02134", "10001", "60601", "94105", "73301", "00501", "33101", "98101"])
    path = write_csv(frame)
    profile = inspect_dataset(path, schema_of(credit_schema(features=["age", "zip"])), max_bytes=LIMIT)

    loaded = load_frame(path, profile.format)

    assert [(entry["name"], entry["dtype"]) for entry in profile.columns] == [
        (name, str(dtype)) for name, dtype in loaded.dtypes.items()
    ]
    assert loaded["zip"].tolist() == frame["zip"].tolist()
    assert len(loaded) == profile.rows


def test_requested_columns_come_back_in_the_requested_order(write_csv):
    path = write_csv(credit_frame())

    loaded = load_frame(path, DatasetFormat.CSV, columns=["sex", "age", "approved"])

    assert list(loaded.columns) == ["sex", "age", "approved"]
    assert loaded["age"].tolist() == credit_frame()["age"].tolist()


def test_the_format_may_be_given_as_stored_text(write_parquet):
    path = write_parquet(credit_frame())

    loaded = load_frame(path, "parquet", columns=["age"])

    assert loaded["age"].dtype == np.int64


def test_a_requested_column_missing_from_the_file(write_csv):
    path = write_csv(credit_frame())

    with pytest.raises(DatasetInvalid) as caught:
        load_frame(path, DatasetFormat.CSV, columns=["age", "salary"])

    assert caught.value.problems == {"columns.salary": ["requested but missing from the file"]}


def test_a_repeated_column_is_loaded_only_when_its_copies_agree(write_csv):
    agreeing = write_csv("a,b,a\n1,2,1\n3,4,3\n", name="agreeing.csv")
    differing = write_csv("a,b,a\n1,2,1\n3,4,5\n", name="differing.csv")

    assert load_frame(agreeing, DatasetFormat.CSV, columns=["a"])["a"].tolist() == [1, 3]
    with pytest.raises(DatasetInvalid) as caught:
        load_frame(differing, DatasetFormat.CSV, columns=["a"])
    assert list(caught.value.problems) == ["columns.a"]


def test_quoting_does_not_change_what_is_read(write_csv):
    frame = credit_frame().assign(zip=["02134", "10001", "60601", "94105", "73301", "00501", "33101", "98101"])
    plain = write_csv(frame, name="plain.csv")
    quoted = write_csv(frame, name="quoted.csv", quoting=1)  # csv.QUOTE_ALL
    assert b'"' in quoted.read_bytes() and b'"' not in plain.read_bytes()

    pd.testing.assert_frame_equal(load_frame(quoted, DatasetFormat.CSV), load_frame(plain, DatasetFormat.CSV))


def test_dates_stay_text_as_the_c_parser_reads_them(write_csv):
    path = write_csv("day,when,y\n2013-08-14,2013-08-13 06:03:42,1\n2013-08-15,2013-08-14 07:00:00,0\n")

    loaded = load_frame(path, DatasetFormat.CSV)

    assert loaded["day"].tolist() == ["2013-08-14", "2013-08-15"]
    assert str(loaded["when"].dtype) == "str"


def test_repeated_and_blank_names_read_the_same_from_csv_and_parquet(write_csv, tmp_path):
    names = ["a", "a", "a.1", ""]
    values = [[1, 2], [3, 4], [5, 6], [7, 8]]
    csv_path = write_csv("a,a,a.1,\n1,3,5,7\n2,4,6,8\n")
    parquet_path = tmp_path / "repeated.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(column) for column in values], names=names), parquet_path)

    from_csv = load_frame(csv_path, DatasetFormat.CSV)
    from_parquet = load_frame(parquet_path, DatasetFormat.PARQUET)

    assert list(from_csv.columns) == ["a", "a.2", "a.1", "Unnamed: 3"]
    pd.testing.assert_frame_equal(from_parquet, from_csv)


def test_a_pandas_index_in_parquet_is_an_ordinary_column(tmp_path):
    path = tmp_path / "indexed.parquet"
    credit_frame().set_index("age").to_parquet(path)

    loaded = load_frame(path, DatasetFormat.PARQUET)

    assert "age" in loaded.columns
    assert isinstance(loaded.index, pd.RangeIndex)


def test_nullable_integers_in_parquet_read_like_csv(write_csv, write_parquet):
    frame = pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")})

    from_parquet = load_frame(write_parquet(frame), DatasetFormat.PARQUET)
    from_csv = load_frame(write_csv(frame), DatasetFormat.CSV)

    pd.testing.assert_frame_equal(from_parquet, from_csv)
    assert from_csv["n"].dtype == np.float64


@pytest.mark.parametrize(
    ("values", "label", "expected"),
    [
        ([1, 0, 1, 0], 1, [1, 0, 1, 0]),
        ([1, 0, 1, 0], "1", [1, 0, 1, 0]),
        ([1.0, 0.0, 0.0], 1, [1, 0, 0]),
        ([True, False, True], "true", [1, 0, 1]),
        (["yes", "no", None], "yes", [1, 0, 0]),
        (pd.Categorical(["bad", "good", "good"]), "good", [0, 1, 1]),
        ([0, 1, 0], 0, [1, 0, 1]),
    ],
)
def test_binary_labels_encode_the_positive_label_as_one(values, label, expected):
    encoded = binary_labels(pd.Series(values, name="y"), label)

    assert encoded.tolist() == expected
    assert encoded.dtype == np.int64


def test_binary_labels_refuse_a_label_the_column_cannot_hold():
    with pytest.raises(DatasetInvalid) as caught:
        binary_labels(pd.Series([0, 1], name="y"), "yes")

    assert caught.value.problems == {"columns.y": ["cannot hold the positive_label 'yes': the column holds integers"]}


def test_binary_labels_match_the_profile_positive_rate(write_csv):
    path = write_csv(credit_frame())
    schema = schema_of(credit_schema(positive_label="1"))
    profile = inspect_dataset(path, schema, max_bytes=LIMIT)

    labels = binary_labels(load_frame(path, profile.format, columns=["approved"])["approved"], schema.positive_label)

    assert labels.mean() == profile.positive_rate == 3 / 8

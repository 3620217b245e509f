"""Format detection from the bytes, and the content address."""

import hashlib
import random

import pytest

from mlio.datasets import DatasetFormat, DatasetInvalid, detect_dataset_format, sha256_file
from tests.mlio.datasets.builders import credit_frame


def file_problem(path) -> str:
    with pytest.raises(DatasetInvalid) as caught:
        detect_dataset_format(path)
    assert list(caught.value.problems) == ["file"]
    return caught.value.problems["file"][0]


def test_parquet_is_recognised_by_its_magic_bytes(write_parquet):
    path = write_parquet(credit_frame(), name="no-extension")

    assert detect_dataset_format(path) is DatasetFormat.PARQUET


def test_utf8_text_is_csv_whatever_the_extension(write_csv):
    path = write_csv("name,city\nZoë,Zürich\n", name="data.parquet")

    assert detect_dataset_format(path) is DatasetFormat.CSV


def test_a_byte_order_mark_is_allowed(write_csv):
    path = write_csv("\ufeffage,sex\n30,F\n".encode())

    assert detect_dataset_format(path) is DatasetFormat.CSV


def test_random_bytes_are_refused(write_csv):
    junk = random.Random(7).randbytes(4096)
    assert b"\x00" in junk and not junk.startswith(b"PAR1")
    path = write_csv(junk)

    assert file_problem(path).startswith("contains binary data (a NUL byte at offset")


def test_text_in_another_encoding_is_refused(write_csv):
    path = write_csv("name,city\nZoë,Zürich\n".encode("latin-1"))

    assert file_problem(path) == "is not UTF-8 text (invalid byte near offset 12); save it as UTF-8"


def test_an_invalid_byte_past_the_first_chunk_is_found(write_csv):
    path = write_csv(b"a,b\n" + b"1,2\n" * 600_000 + b"3,\xff\n")

    assert "is not UTF-8 text" in file_problem(path)


def test_an_excel_workbook_is_named(write_csv):
    path = write_csv(b"PK\x03\x04" + b"\x14\x00" * 50)

    assert (
        file_problem(path) == "looks like a ZIP archive (an Excel .xlsx workbook?); upload CSV (UTF-8 text) or Parquet"
    )


def test_a_truncated_parquet_file_is_refused(write_parquet, tmp_path):
    whole = write_parquet(credit_frame()).read_bytes()
    path = tmp_path / "cut.parquet"
    path.write_bytes(whole[: len(whole) // 2])

    assert "no Parquet footer" in file_problem(path)


def test_an_empty_file_is_refused(write_csv):
    assert file_problem(write_csv(b"")) == "is empty"


def test_sha256_file_is_the_digest_of_the_bytes(write_csv):
    content = b"x,y\n" + b"1,0\n" * 500_000  # spans several read chunks
    path = write_csv(content)

    assert sha256_file(path) == hashlib.sha256(content).hexdigest()

"""CSV and Parquet: format detection from the bytes, and the readers that validation and ``load_frame``
share (header names, pandas' names for blank and repeated columns, leading zeros kept). Django-free."""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from enum import StrEnum
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .common import DatasetInvalid

_CHUNK = 1 << 20
_PARQUET_MAGIC = b"PAR1"
# Formats people upload by mistake; naming them beats "not UTF-8 text".
_KNOWN_BINARY = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook?)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office document (an Excel .xls workbook?)"),
    (b"ARROW1", "an Arrow/Feather file"),
    (b"%PDF-", "a PDF document"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_LEADING_ZERO = r"^\s*[+-]?0[0-9]"


class DatasetFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


def detect_dataset_format(path: str | Path) -> DatasetFormat:
    """Parquet by its magic bytes, otherwise the file must be UTF-8 text to be taken as CSV."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise DatasetInvalid({"file": ["is empty"]})
    with path.open("rb") as fh:
        head = fh.read(8)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if head.startswith(_PARQUET_MAGIC):
        if tail == _PARQUET_MAGIC and size >= 12:
            return DatasetFormat.PARQUET
        raise DatasetInvalid({"file": ["starts like a Parquet file but has no Parquet footer (truncated upload?)"]})
    for magic, what in _KNOWN_BINARY:
        if head.startswith(magic):
            raise DatasetInvalid({"file": [f"looks like {what}; upload CSV (UTF-8 text) or Parquet"]})
    _require_utf8_text(path)
    return DatasetFormat.CSV


def _require_utf8_text(path: Path) -> None:
    # The whole file, not a sample: pandas would otherwise fail (or mis-decode) somewhere in the middle.
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            nul = chunk.find(b"\x00")
            if nul >= 0:
                raise DatasetInvalid({"file": [f"contains binary data (a NUL byte at offset {offset + nul}), not CSV"]})
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise DatasetInvalid(
                    {"file": [f"is not UTF-8 text (invalid byte near offset {offset + exc.start}); save it as UTF-8"]}
                ) from exc
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise DatasetInvalid({"file": ["is not UTF-8 text (it ends inside a multi-byte character)"]}) from exc


# --- reading --------------------------------------------------------------------------------------


def _header_names(path: Path, fmt: DatasetFormat) -> list[str]:
    """Column names as written in the file, repeats and blanks included."""
    if fmt is DatasetFormat.PARQUET:
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except (pa.ArrowException, OSError) as exc:
            raise DatasetInvalid({"file": [f"could not be read as Parquet: {_first_line(exc)}"]}) from exc
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next((row for row in csv.reader(fh) if row), [])  # pandas skips leading blank lines
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DatasetInvalid({"file": [f"could not be parsed as CSV: {_first_line(exc)}"]}) from exc
    if not header:
        raise DatasetInvalid({"file": ["has no header row"]})
    return header


def _read_frame(path: Path, fmt: DatasetFormat, header: list[str], columns: list[str] | None) -> pd.DataFrame:
    frame = _read_parquet(path, columns) if fmt is DatasetFormat.PARQUET else _read_csv(path, header, columns)
    return frame if columns is None else frame[columns]  # the order asked for, not the file's


def _read_parquet(path: Path, columns: list[str] | None) -> pd.DataFrame:
    try:
        table = pq.ParquetFile(path).read(columns=columns)
        # Ignoring pandas metadata keeps every stored column a column (an index written by pandas too),
        # and makes nullable integers float64 with NaN, as they are when read from CSV.
        frame = table.to_pandas(ignore_metadata=True)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetInvalid({"file": [f"could not be read as Parquet: {_first_line(exc)}"]}) from exc
    frame.columns = _unique_names([str(name) for name in table.column_names])
    return frame


def _read_csv(path: Path, header: list[str], columns: list[str] | None) -> pd.DataFrame:
    """pandas' C parser is the reference for CSV: it reports bad quoting and long rows with a line number.

    pyarrow's CSV reader (also behind ``read_csv(engine="pyarrow")``) is faster but does not parse the
    same way: it infers dates, times and hex integers, reads True/False/1 as booleans, fails on quoted
    newlines across blocks and can silently drop rows after an unterminated quote. It is used only to
    fetch raw text once the C parser has accepted the file (see ``_keep_leading_zeros``).
    ``low_memory=False`` gives each column one type for the whole file rather than one per chunk.
    """
    try:
        frame = pd.read_csv(path, engine="c", usecols=columns, encoding="utf-8", low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DatasetInvalid({"file": [f"could not be parsed as CSV: {_first_line(exc)}"]}) from exc
    return _keep_leading_zeros(path, frame, header)


def _keep_leading_zeros(path: Path, frame: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """Zip codes and identifiers written as 02134 are labels, not numbers: keep such columns as text."""
    candidates = _numeric_columns_named_once(frame, header)
    if not candidates:
        return frame
    for name, text in _raw_text(path, candidates, len(frame)).items():
        if pc.any(pc.match_substring_regex(text, _LEADING_ZERO)).as_py():
            restored = pd.Series(pd.array(text, dtype="str"), index=frame.index, name=name)
            frame[name] = restored.where(frame[name].notna())  # missing stays missing, as parsed
    return frame


def _numeric_columns_named_once(frame: pd.DataFrame, header: list[str]) -> list[str]:
    # Repeated or blank names are renamed by pandas, so their raw text cannot be fetched by name.
    counts = Counter(header)
    as_read = dict(zip(header, _unique_names(header), strict=True))
    return [
        name
        for name in frame.columns
        if counts.get(name) == 1
        and as_read[name] == name
        and pd.api.types.is_numeric_dtype(frame[name])
        and not pd.api.types.is_bool_dtype(frame[name])
    ]


def _raw_text(path: Path, names: list[str], rows: int) -> dict[str, pa.ChunkedArray]:
    # Quoted values may hold newlines; allowing them costs pyarrow its parallel parsing, so only when needed.
    quoted = _contains(path, b'"')
    try:
        table = pa_csv.read_csv(
            path,
            parse_options=pa_csv.ParseOptions(newlines_in_values=quoted),
            convert_options=pa_csv.ConvertOptions(
                include_columns=names, column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowException:
        table = None
    if table is not None and table.num_rows == rows:
        return {name: table[name] for name in names}
    # pyarrow rejects what the C parser tolerates (short rows, whitespace-only lines): ask the C parser.
    text = pd.read_csv(path, engine="c", usecols=names, dtype=dict.fromkeys(names, "str"), keep_default_na=False)
    return {name: pa.chunked_array([pa.array(text[name].to_numpy(dtype=object), pa.string())]) for name in names}


def _contains(path: Path, needle: bytes) -> bool:
    with path.open("rb") as fh:
        return any(needle in chunk for chunk in iter(lambda: fh.read(_CHUNK), b""))


def _unique_names(header: list[str]) -> list[str]:
    """The names pandas' CSV parser gives blank and repeated headers ('' -> 'Unnamed: 3'; a, a -> a, a.1).

    Same algorithm as ``pandas.io.common.mangle_dupe_names`` (not public API): a renamed copy skips names
    already in the header, and blank columns are renamed after the named ones.
    """
    names = [name if name != "" else f"Unnamed: {i}" for i, name in enumerate(header)]
    blank = [i for i, name in enumerate(header) if name == ""]
    counts: dict[str, int] = {}
    for i in [i for i in range(len(names)) if i not in set(blank)] + blank:
        base = name = names[i]
        count = counts.get(base, 0)
        while count > 0:
            counts[base] = count + 1
            name = f"{base}.{count}"
            count = count + 1 if name in names else counts.get(name, 0)
        names[i] = name
        counts[name] = count + 1
    return names


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

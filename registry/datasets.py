"""Datasets that audits read: format detection, schema declaration, upload validation and the one loader.

A dataset (evaluation, reference or production sample) is a CSV or Parquet file, addressed by the SHA-256
of its bytes, with a declared schema. ``inspect_dataset`` validates an upload against its schema and
returns a profile; ``load_frame`` is the only way evidence workers read the file, and it applies the
same parsing rules, so what was validated is what gets audited.

Pure module: no Django, no settings. Limits are arguments.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from registry.artifacts import sha256_file  # one streamed hash for every stored file

__all__ = [
    "DatasetFormat",
    "DatasetInvalid",
    "DatasetProfile",
    "DatasetSchema",
    "binary_labels",
    "detect_dataset_format",
    "inspect_dataset",
    "load_frame",
    "sha256_file",
]

Task = Literal["binary_classification", "regression"]
Label = str | int | float | bool
TASKS: tuple[str, ...] = ("binary_classification", "regression")
SCHEMA_FIELDS = ("features", "target", "positive_label", "task", "sensitive_features", "prediction", "score")

MAX_GROUPS = 50  # groups listed per sensitive feature in a profile
DISTINCT_CAP = 1000  # distinct counts above this are reported as the cap
VALUES_SHOWN = 5  # values quoted in a problem message

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
_ROLE_ORDER = ("target", "prediction", "score", "sensitive", "feature")
_ROLE_TEXT = {
    "feature": "a feature",
    "target": "the target",
    "prediction": "the prediction",
    "score": "the score",
    "sensitive": "a sensitive feature",
}


class DatasetFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class DatasetInvalid(Exception):
    """An upload or declaration that cannot be accepted; ``problems`` maps a field path to messages."""

    def __init__(self, problems: Mapping[str, Iterable[str]]):
        self.problems: dict[str, list[str]] = {key: list(msgs) for key, msgs in problems.items() if msgs}
        if not self.problems:
            raise ValueError("DatasetInvalid needs at least one problem")
        key, messages = next(iter(self.problems.items()))
        self.message = f"{key}: {messages[0]}"
        super().__init__(self.message)


class _Problems:
    """Collects problems so that one upload reports all of them, not just the first."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        messages = self.by_field.setdefault(key, [])
        if message not in messages:  # a column with two roles may fail the same check twice
            messages.append(message)

    def column(self, name: str, message: str) -> None:
        self.add(f"columns.{name}", message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise DatasetInvalid(self.by_field)


# --- schema -------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class DatasetSchema:
    features: list[str]
    target: str | None = None
    positive_label: Label | None = None
    task: Task
    sensitive_features: list[str] = field(default_factory=list)
    prediction: str | None = None
    score: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSchema:
        problems = _schema_problems(data)
        problems.raise_if_any()
        return cls(
            features=list(data["features"]),
            target=data.get("target"),
            positive_label=data.get("positive_label"),
            task=data["task"],
            sensitive_features=list(data.get("sensitive_features") or []),
            prediction=data.get("prediction"),
            score=data.get("score"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "target": self.target,
            "positive_label": _json_scalar(self.positive_label),
            "task": self.task,
            "sensitive_features": list(self.sensitive_features),
            "prediction": self.prediction,
            "score": self.score,
        }

    def roles(self) -> dict[str, list[str]]:
        """Declared column -> its roles, most specific first (a sensitive feature may also be a feature)."""
        roles: dict[str, list[str]] = defaultdict(list)
        for role, name in (("target", self.target), ("prediction", self.prediction), ("score", self.score)):
            if name is not None:
                roles[name].append(role)
        for name in self.features:
            roles[name].append("feature")
        for name in self.sensitive_features:
            roles[name].append("sensitive")
        return {name: sorted(set(rs), key=_ROLE_ORDER.index) for name, rs in roles.items()}


def _schema_problems(data: Any) -> _Problems:
    problems = _Problems()
    if not isinstance(data, Mapping):
        problems.add("schema", "must be an object with features, task and the other schema fields")
        return problems
    for key in sorted(set(data) - set(SCHEMA_FIELDS), key=str):
        problems.add(f"schema.{key}", "unknown field")
    task = data.get("task")
    if task not in TASKS:
        problems.add("schema.task", "must be binary_classification or regression")
    features = _declared_list(data, "features", problems, required=True)
    sensitive = _declared_list(data, "sensitive_features", problems, required=False)
    single = {role: _declared_name(data, role, problems) for role in ("target", "prediction", "score")}
    _check_role_overlaps(features, sensitive, single, problems)
    _check_positive_label(data.get("positive_label"), task, single, problems)
    if task == "regression" and single["score"] is not None:
        problems.add("schema.score", "only applies to binary_classification (a predicted probability)")
    return problems


def _declared_list(data: Mapping[str, Any], key: str, problems: _Problems, *, required: bool) -> list[str]:
    value = data.get(key)
    if value is None or value == []:
        if required:
            problems.add(f"schema.{key}", "must list at least one column")
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.add(f"schema.{key}", "must be a list of column names")
        return []
    names = [name for name in value if isinstance(name, str) and name]
    if len(names) != len(value):
        problems.add(f"schema.{key}", "column names must be non-empty strings")
    for name, count in Counter(names).items():
        if count > 1:
            problems.add(f"schema.{key}", f"lists '{name}' {count} times")
    return names


def _declared_name(data: Mapping[str, Any], key: str, problems: _Problems) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and value):
        return value
    problems.add(f"schema.{key}", "must be a column name (a non-empty string) or null")
    return None


def _check_role_overlaps(
    features: list[str], sensitive: list[str], single: dict[str, str | None], problems: _Problems
) -> None:
    # A sensitive feature may also be a model input; an outcome column may not.
    for role, name in single.items():
        if name is not None and name in features:
            problems.add(f"schema.{role}", f"'{name}' is also listed among the features")
        if name is not None and name in sensitive:
            problems.add("schema.sensitive_features", f"'{name}' is declared as the {role}")
    target, prediction, score = single["target"], single["prediction"], single["score"]
    if prediction is not None and prediction == target:
        problems.add("schema.prediction", "is the same column as the target")
    if score is not None and score in (target, prediction):
        problems.add("schema.score", "must be its own column, not the target or the prediction")


def _check_positive_label(label: Any, task: Any, single: dict[str, str | None], problems: _Problems) -> None:
    if label is not None and not _valid_label(label):
        problems.add("schema.positive_label", "must be a string, number or boolean")
        return
    has_outcome = single["target"] is not None or single["prediction"] is not None
    if task == "binary_classification" and has_outcome and label is None:
        problems.add(
            "schema.positive_label", "is required for binary_classification when a target or prediction is declared"
        )
    if task == "regression" and label is not None:
        problems.add("schema.positive_label", "only applies to binary_classification")


def _valid_label(label: Any) -> bool:
    if isinstance(label, str):
        return label != ""
    if isinstance(label, bool | int):
        return True
    return isinstance(label, float) and math.isfinite(label)


# --- format and hashing -------------------------------------------------------------------------


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


# --- reading ------------------------------------------------------------------------------------


def load_frame(path: str | Path, fmt: DatasetFormat, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a dataset with the parsing rules ``inspect_dataset`` validated it with.

    Column names come out unique: copies of a repeated name are suffixed ``.1``, ``.2``, an empty name
    becomes ``Unnamed: <position>`` (pandas' rules, applied to Parquet too). Requested ``columns`` must
    exist in the file (a repeated one only with identical copies) and come back in the requested order.
    """
    path, fmt = Path(path), DatasetFormat(fmt)
    header = _header_names(path, fmt)
    if columns is None:
        return _read_frame(path, fmt, header, None)
    columns = list(dict.fromkeys(columns))
    problems = _Problems()
    for name in columns:
        _check_present(name, header, "requested", problems)
    problems.raise_if_any()
    repeated = [name for name in columns if header.count(name) > 1]
    # Copies of a repeated name can only be compared, and told apart, in a full read.
    frame = _read_frame(path, fmt, header, None if repeated else columns)
    _check_copies(frame, header, {name: "requested" for name in repeated}, problems)
    problems.raise_if_any()
    return frame[columns]


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


# --- labels -------------------------------------------------------------------------------------


def binary_labels(series: pd.Series, positive_label: Label) -> np.ndarray:
    """1 where the value is the positive label, 0 elsewhere (missing included)."""
    try:
        label = _coerce_label(positive_label, series.dtype)
    except ValueError as exc:
        raise DatasetInvalid({f"columns.{series.name}": [str(exc)]}) from exc
    return (series == label).to_numpy(dtype=np.int64)


def _coerce_label(label: Label, dtype: Any) -> Any:
    """The declared label as a value of the column's type: a declared 1 matches a CSV's "1" read as 1."""
    if isinstance(dtype, pd.CategoricalDtype):
        return _coerce_label(label, dtype.categories.dtype)
    if pd.api.types.is_bool_dtype(dtype):
        return _label_as_bool(label)
    if pd.api.types.is_integer_dtype(dtype):
        return _label_as_int(label)
    if pd.api.types.is_float_dtype(dtype):
        return _label_as_float(label)
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)


def _label_as_bool(label: Label) -> bool:
    if isinstance(label, bool):
        return label
    text = str(label).strip().lower()
    if text in ("true", "1", "1.0"):
        return True
    if text in ("false", "0", "0.0"):
        return False
    raise ValueError(f"cannot hold the positive_label {label!r}: the column holds booleans")


def _label_as_int(label: Label) -> int:
    try:
        number = float(label)
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise ValueError(f"cannot hold the positive_label {label!r}: the column holds integers")
    return int(number)


def _label_as_float(label: Label) -> float:
    try:
        return float(label)
    except ValueError:
        raise ValueError(f"cannot hold the positive_label {label!r}: the column holds numbers") from None


# --- inspection ---------------------------------------------------------------------------------


@dataclass
class DatasetProfile:
    format: DatasetFormat
    sha256: str
    size: int
    rows: int
    columns: list[dict[str, Any]]
    positive_rate: float | None
    groups: dict[str, dict[str, int]]
    warnings: list[str] = field(default_factory=list)

    def column(self, name: str) -> dict[str, Any]:
        return next(entry for entry in self.columns if entry["name"] == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format.value,
            "sha256": self.sha256,
            "size": self.size,
            "rows": self.rows,
            "columns": [{key: _json_scalar(value) for key, value in entry.items()} for entry in self.columns],
            "positive_rate": _json_scalar(self.positive_rate),
            "groups": {name: dict(counts) for name, counts in self.groups.items()},
            "warnings": list(self.warnings),
        }


def inspect_dataset(
    path: str | Path, schema: DatasetSchema, *, max_bytes: int, max_rows: int | None = None
) -> DatasetProfile:
    """Validate an uploaded file against its declared schema; raise ``DatasetInvalid`` with every problem."""
    path = Path(path)
    size = path.stat().st_size
    _check_declaration_and_size(schema, size, max_bytes)
    fmt = detect_dataset_format(path)
    header = _header_names(path, fmt)
    problems = _Problems()
    _check_header(header, schema, problems)
    try:
        frame = _read_frame(path, fmt, header, None)
    except DatasetInvalid as exc:
        # The file cannot be read, but declared columns missing from its header are worth reporting with it.
        raise DatasetInvalid({**exc.problems, **problems.by_field}) from exc
    _check_copies(frame, header, {name: _declared_as(roles) for name, roles in schema.roles().items()}, problems)
    _check_rows(len(frame), max_rows, problems)
    if len(frame):
        _check_values(frame, schema, _usable_columns(frame, schema, problems), problems)
    problems.raise_if_any()
    return _profile(frame, schema, fmt, path, size, header)


def _check_declaration_and_size(schema: DatasetSchema, size: int, max_bytes: int) -> None:
    # A hand-built DatasetSchema gets the checks from_dict applies; neither needs the file read.
    problems = _schema_problems(schema.to_dict())
    if size > max_bytes:
        problems.add("file", f"larger than the limit of {_size_text(max_bytes)} (the file is {_size_text(size)})")
    problems.raise_if_any()


def _declared_as(roles: list[str]) -> str:
    return "declared as " + " and ".join(_ROLE_TEXT[role] for role in roles)


def _check_header(header: list[str], schema: DatasetSchema, problems: _Problems) -> None:
    for name, roles in schema.roles().items():
        _check_present(name, header, _declared_as(roles), problems)


def _check_present(name: str, header: list[str], what: str, problems: _Problems) -> None:
    if name not in header:
        problems.column(name, f"{what} but missing from the file{_spelling_hint(name, header)}")


def _spelling_hint(name: str, header: list[str]) -> str:
    wanted = name.strip().casefold()
    close = [column for column in header if column.strip().casefold() == wanted]
    return f" (the file has '{close[0]}')" if close else ""


def _check_copies(frame: pd.DataFrame, header: list[str], what: dict[str, str], problems: _Problems) -> None:
    """A repeated column is unambiguous only when every copy holds the same values (COMPAS repeats two)."""
    as_read = _unique_names(header)
    for name, description in what.items():
        copies = [read for raw, read in zip(header, as_read, strict=True) if raw == name]
        if len(copies) > 1 and not all(frame[copy].equals(frame[copies[0]]) for copy in copies[1:]):
            problems.column(
                name, f"{description} but appears {len(copies)} times in the file with different values; keep one"
            )


def _usable_columns(frame: pd.DataFrame, schema: DatasetSchema, problems: _Problems) -> set[str]:
    """Declared columns whose values can be checked: present, and not repeated with conflicting copies."""
    flagged = {key.removeprefix("columns.") for key in problems.by_field}
    return {name for name in schema.roles() if name in frame.columns and name not in flagged}


def _check_rows(rows: int, max_rows: int | None, problems: _Problems) -> None:
    if rows == 0:
        problems.add("file", "has no data rows")
    if max_rows is not None and rows > max_rows:
        problems.add("file", f"has {rows} rows, more than the limit of {max_rows}")


def _check_values(frame: pd.DataFrame, schema: DatasetSchema, usable: set[str], problems: _Problems) -> None:
    for name in schema.features:
        if name in usable:
            _check_input_type(frame[name], problems)
    for name in schema.sensitive_features:
        if name in usable:
            _check_sensitive(frame[name], problems)
    for name in (schema.target, schema.prediction):
        if name in usable:
            _check_outcome(frame[name], schema, problems)
    if schema.score in usable:
        _check_score(frame[schema.score], problems)


def _check_input_type(series: pd.Series, problems: _Problems) -> bool:
    """Numeric, boolean, text or categorical: what the audit libraries can encode. False if not."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return True
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return True
    if pd.api.types.is_object_dtype(dtype):
        if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty", "boolean"):
            return True
        kinds = sorted({type(value).__name__ for value in series.dropna()})
    else:
        kinds = [str(dtype)]
    if len(kinds) > 1:
        problems.column(series.name, f"mixes value types ({', '.join(kinds)}); it must be numeric, boolean or text")
    else:
        problems.column(series.name, f"has values of type {kinds[0]}; it must be numeric, boolean or text")
    return False


def _check_sensitive(series: pd.Series, problems: _Problems) -> None:
    if not _check_input_type(series, problems):
        return
    missing = int(series.isna().sum())
    if missing:
        problems.column(series.name, f"has {_count(missing, 'missing value')}; every row needs a known group")
    groups = series.dropna().unique()
    if len(groups) < 2:
        seen = f" ({_preview(groups)})" if len(groups) else ""
        problems.column(series.name, f"has only one group{seen}; comparing groups needs at least two")


def _check_outcome(series: pd.Series, schema: DatasetSchema, problems: _Problems) -> None:
    role = "target" if series.name == schema.target else "prediction"
    if not _check_input_type(series, problems):
        return
    missing = int(series.isna().sum())
    if missing:
        problems.column(series.name, f"has {_count(missing, 'missing value')}; the {role} must be known for every row")
    values = series.dropna()
    if schema.task == "binary_classification":
        _check_binary(values, schema.positive_label, problems)
    else:
        _check_numeric(values, "regression", problems)


def _check_binary(values: pd.Series, positive_label: Label, problems: _Problems) -> None:
    distinct = values.unique()
    if len(distinct) > 2:
        problems.column(
            values.name,
            f"must have exactly two values for binary_classification; found {len(distinct)}: {_preview(distinct)}",
        )
    elif len(distinct) == 1:
        problems.column(values.name, f"has only one value ({_preview(distinct)}); binary_classification needs two")
    if not len(distinct):
        return
    try:
        label = _coerce_label(positive_label, values.dtype)
    except ValueError as exc:
        problems.column(values.name, str(exc))
        return
    if not (values == label).any():
        problems.column(
            values.name, f"does not contain the positive_label {positive_label!r}; values seen: {_preview(distinct)}"
        )


def _check_numeric(values: pd.Series, purpose: str, problems: _Problems) -> bool:
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        problems.column(values.name, f"must be numeric for {purpose}; found values such as {_preview(values.unique())}")
        return False
    if not np.isfinite(values.to_numpy(dtype=float)).all():
        problems.column(values.name, "contains infinite values")
        return False
    return True


def _check_score(series: pd.Series, problems: _Problems) -> None:
    if not _check_input_type(series, problems):
        return
    missing = int(series.isna().sum())
    if missing:
        problems.column(series.name, f"has {_count(missing, 'missing value')}; the score must be known for every row")
    values = series.dropna()
    if _check_numeric(values, "a score", problems) and len(values):
        low, high = values.min(), values.max()
        if low < 0 or high > 1:
            problems.column(series.name, f"must lie between 0 and 1; found values from {low} to {high}")


# --- profile ------------------------------------------------------------------------------------


def _profile(
    frame: pd.DataFrame, schema: DatasetSchema, fmt: DatasetFormat, path: Path, size: int, header: list[str]
) -> DatasetProfile:
    roles = schema.roles()
    positive_rate = None
    if schema.task == "binary_classification" and schema.target is not None:
        positive_rate = float(binary_labels(frame[schema.target], schema.positive_label).mean())
    return DatasetProfile(
        format=fmt,
        sha256=sha256_file(path),
        size=size,
        rows=len(frame),
        columns=[_column_profile(frame[name], roles.get(name, ["other"])[0]) for name in frame.columns],
        positive_rate=positive_rate,
        groups={name: _group_counts(frame[name]) for name in schema.sensitive_features},
        warnings=_header_warnings(header),
    )


def _column_profile(series: pd.Series, role: str) -> dict[str, Any]:
    distinct = _distinct_count(series)
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    has_values = numeric and bool(series.notna().any())
    return {
        "name": series.name,
        "dtype": str(series.dtype),
        "role": role,
        "missing": int(series.isna().sum()),
        "distinct": None if distinct is None else min(distinct, DISTINCT_CAP),
        "distinct_capped": distinct is not None and distinct > DISTINCT_CAP,
        "min": _json_scalar(series.min()) if has_values else None,
        "max": _json_scalar(series.max()) if has_values else None,
    }


def _distinct_count(series: pd.Series) -> int | None:
    try:
        return int(series.nunique(dropna=True))
    except TypeError:  # lists or mappings from Parquet, in a column nothing declared: no count, no failure
        return None


def _group_counts(series: pd.Series) -> dict[str, int]:
    counts = series.value_counts(dropna=True).head(MAX_GROUPS)
    return {str(_json_scalar(value)): int(count) for value, count in counts.items()}


def _header_warnings(header: list[str]) -> list[str]:
    warnings = []
    for name, as_read in zip(header, _unique_names(header), strict=True):
        if name == "":
            warnings.append(f"a column has no name; it is read as '{as_read}'")
        elif as_read != name:
            warnings.append(f"column '{name}' appears more than once; a copy is read as '{as_read}'")
    return warnings


# --- formatting ---------------------------------------------------------------------------------


def _json_scalar(value: Any) -> Any:
    """numpy scalars to Python ones; NaN and infinities to None (JSON has neither)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _preview(values: Any) -> str:
    items = [_json_scalar(value) for value in values]
    with contextlib.suppress(TypeError):  # mixed types keep the file's order
        items = sorted(items)
    shown = ", ".join(repr(item) for item in items[:VALUES_SHOWN])
    return shown + (", …" if len(items) > VALUES_SHOWN else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return _count(n, "byte")

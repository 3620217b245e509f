"""Validation of an upload against its declared schema (``inspect_dataset``) and the one loader
(``load_frame``), which apply the same parsing rules and column checks. Django-free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .common import DatasetInvalid, Label, _count, _preview, _Problems, _size_text
from .formats import DatasetFormat, _header_names, _read_frame, _unique_names, detect_dataset_format
from .labels import _coerce_label
from .profile import DatasetProfile, _profile
from .schema import DatasetSchema, _schema_problems

_ROLE_TEXT = {
    "feature": "a feature",
    "target": "the target",
    "prediction": "the prediction",
    "score": "the score",
    "sensitive": "a sensitive feature",
}


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


def column_names(path: str | Path) -> list[str]:
    """The file's column names as ``load_frame`` gives them (repeats suffixed, blanks named)."""
    path = Path(path)
    return _unique_names(_header_names(path, detect_dataset_format(path)))


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

"""Datasets that audits read: format detection, schema declaration, upload validation and the one loader.

A dataset (evaluation, reference or production sample) is a CSV or Parquet file, addressed by the SHA-256
of its bytes, with a declared schema. ``inspect_dataset`` validates an upload against its schema and
returns a profile; ``load_frame`` is the only way evidence workers read the file, and it applies the
same parsing rules, so what was validated is what gets audited.

Pure module: no Django, no settings. Limits are arguments.

Modules: ``schema`` (the declared schema), ``formats`` (CSV/Parquet detection and reading), ``labels``
(the positive label against a column), ``inspection`` (validation and ``load_frame``), ``profile`` (the
profile of a validated dataset) and ``common`` (``DatasetInvalid`` and shared helpers).
"""

from __future__ import annotations

from mlio.artifacts import sha256_file  # re-exported: one streamed hash for every stored file

from .common import DatasetInvalid
from .formats import DatasetFormat, detect_dataset_format
from .inspection import column_names, inspect_dataset, load_frame
from .labels import binary_labels
from .profile import DatasetProfile
from .schema import DatasetSchema

__all__ = [
    "DatasetFormat",
    "DatasetInvalid",
    "DatasetProfile",
    "DatasetSchema",
    "binary_labels",
    "column_names",
    "detect_dataset_format",
    "inspect_dataset",
    "load_frame",
    "sha256_file",
]

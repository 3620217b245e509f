"""Model artifacts: recognise the format from the bytes, apply the data-only policy, probe a load.

Artifacts are content-addressed by SHA-256. Accepted formats load as data: skops (with our own
trusted-type list), XGBoost and LightGBM native model files, ONNX graphs, and zipped MLflow
model directories whose flavor loads natively. Pickles (pickle, joblib, cloudpickle) run code
when loaded, so they are refused unless the deployment opts in.

Nothing here imports Django: settings arrive as arguments, and the same code runs inside the
probe's child process and in the evidence workers.

The package is split by concern: formats (types, errors, hashing), detection, archives, flavors
(MLflow flavors loaded natively), onnx_data and policy. The whole acceptance check (policy plus the
sandboxed load probe) lives in mlio.acceptance, outside the package, so that the sandbox can
import this package without an import cycle.
"""

from .archives import check_archive, extract_archive, mlflow_root, read_mlmodel
from .detection import detect_format, sniff
from .flavors import NATIVE_MLFLOW_FLAVORS, NativeFlavor, native_mlflow_flavor
from .formats import (
    ACCEPTED_FORMATS,
    DEFAULT_UNPACKED_RATIO,
    MAX_ARCHIVE_MEMBERS,
    PICKLE_ADVICE,
    ArtifactFormat,
    ArtifactRejected,
    ArtifactReport,
    StrPath,
    sha256_file,
)
from .onnx_data import onnx_external_locations
from .policy import check_allowed

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_UNPACKED_RATIO",
    "MAX_ARCHIVE_MEMBERS",
    "NATIVE_MLFLOW_FLAVORS",
    "PICKLE_ADVICE",
    "ArtifactFormat",
    "ArtifactRejected",
    "ArtifactReport",
    "NativeFlavor",
    "StrPath",
    "check_allowed",
    "check_archive",
    "detect_format",
    "extract_archive",
    "mlflow_root",
    "native_mlflow_flavor",
    "onnx_external_locations",
    "read_mlmodel",
    "sha256_file",
    "sniff",
]

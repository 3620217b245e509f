"""Bridge to MLflow: import a model version with its lineage, and mark production versions back.

Pure functions with explicit URIs and no Django: MLflow's global tracking/registry URI is process
state, and other code in the same worker may talk to other stores, so nothing here calls
``mlflow.set_tracking_uri``. MLflow is imported lazily so that importing this module (for the
exception type, say) does not cost the web process MLflow's import time.

Nothing here deserializes a model: the model directory is downloaded and zipped as bytes. Whether
its flavors are data-only is decided by the caller from ``ImportedModel.flavor_config``.

The package is split by concern: core (the error, ImportedModel, helpers), store (source URIs,
opening a client, MLflow's errors, HTTP limits), allowed (which stores and artifact locations the
operator allows, compared as parsed parts), importing (resolving and importing a model), model_dir (the
downloaded directory and its zip), metadata (lineage and run data) and production (the marker).
"""

from .core import ImportedModel, MlflowImportError
from .importing import import_model, registration_source
from .model_dir import ZIP_TIMESTAMP
from .production import set_production_marker
from .store import SOURCE_HINT, http_limits, parse_source

__all__ = [
    "SOURCE_HINT",
    "ZIP_TIMESTAMP",
    "ImportedModel",
    "MlflowImportError",
    "http_limits",
    "import_model",
    "parse_source",
    "registration_source",
    "set_production_marker",
]

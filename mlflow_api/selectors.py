"""Reads for the MLflow API: rows by the names and numbers MLflow uses, and its searches.

MLflow numbers a model's versions 1, 2, 3...; the registry names them by semantic version. A version's MLflow
number is its place among the model's versions in the order they were registered (versions are never deleted,
so the number never changes); a semantic version is accepted too wherever MLflow sends a version.
"""

from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from core.errors import DomainError
from mlflow_api.filters import Clause, FilterInvalid, like_regex, parse_filter
from registry.models import ModelAlias, ModelVersion, RegisteredModel

MODEL_KEYS = frozenset({"name"})
VERSION_KEYS = frozenset({"name", "run_id", "version_number", "source_path"})
_LOOKUPS = {"name": "name", "run_id": "lineage__mlflow_run_id", "source_path": "lineage__mlflow_source"}


def model_get(name: str) -> RegisteredModel:
    model = RegisteredModel.objects.filter(name=name).first()
    if model is None:
        raise DomainError("not_found", f"Registered Model with name={name} not found", status_code=404)
    return model


def version_numbers(model: RegisteredModel) -> dict[int, str]:
    """Each version's MLflow number, by its primary key."""
    ids = model.versions.order_by("id").values_list("id", flat=True)
    return {pk: str(place) for place, pk in enumerate(ids, start=1)}


def version_number(version: ModelVersion) -> str:
    return str(ModelVersion.objects.filter(model_id=version.model_id, id__lte=version.pk).count())


def version_get(name: str, number: str) -> ModelVersion:
    """The version MLflow names by its number (or by its semantic version), or RESOURCE_DOES_NOT_EXIST."""
    model = model_get(name)
    versions = model.versions.select_related("model", "artifact").order_by("id")
    found = None
    # ASCII digits only ("²" is a digit to str.isdigit), and no further than a database's 64-bit offset.
    if number.isascii() and number.isdigit() and 1 <= int(number) < 2**63:
        found = versions[int(number) - 1 : int(number)].first()
    else:
        found = versions.filter(version=number).first()
    if found is None:
        raise DomainError("not_found", f"Model Version (name={name}, version={number}) not found", status_code=404)
    return found


def alias_version_get(name: str, alias: str) -> ModelVersion:
    row = ModelAlias.objects.filter(model=model_get(name), alias=alias).select_related("version__model").first()
    if row is None:
        raise DomainError("not_found", f"Registered model alias {alias} not found.", status_code=404)
    return row.version


def _invalid(exc: FilterInvalid) -> DomainError:
    return DomainError("invalid", str(exc), fields={"filter": [str(exc)]})


def _narrowed(rows: QuerySet, clause: Clause, place: int, prefix: str = "") -> QuerySet:
    """Rows meeting one clause. A tag is read by its key as data (never as a lookup path); a row without the
    tag does not equal any value, so `!=` keeps it (MLflow's client itself asks for tag != 'true')."""
    if clause.key.startswith("tags."):
        lookup = f"mlflow_tag_{place}"
        text = Cast(KeyTextTransform(clause.key.removeprefix("tags."), "tags"), TextField())
        rows = rows.alias(**{lookup: text})
    else:
        lookup = prefix + _LOOKUPS[clause.key]
    if clause.op in ("LIKE", "ILIKE"):
        kind = "regex" if clause.op == "LIKE" else "iregex"
        return rows.filter(**{f"{lookup}__{kind}": like_regex(clause.value)})
    if clause.op == "=":
        return rows.filter(**{lookup: clause.value})
    return rows.filter(Q(**{f"{lookup}__isnull": True}) | ~Q(**{lookup: clause.value}))


def models_search(filter_string: str | None) -> QuerySet[RegisteredModel]:
    try:
        clauses = parse_filter(filter_string, MODEL_KEYS)
    except FilterInvalid as exc:
        raise _invalid(exc) from exc
    models = RegisteredModel.objects.order_by("name")
    for place, clause in enumerate(clauses):
        models = _narrowed(models, clause, place)
    return models


def versions_search(filter_string: str | None) -> list[ModelVersion]:
    """Matching versions, each with `mlflow_number` set; a version_number clause compares with that number."""
    try:
        clauses = parse_filter(filter_string, VERSION_KEYS)
    except FilterInvalid as exc:
        raise _invalid(exc) from exc
    versions = ModelVersion.objects.select_related("model", "artifact").order_by("model__name", "id")
    numbered = [c for c in clauses if c.key == "version_number"]
    for place, clause in enumerate(clauses):
        if clause.key != "version_number":
            versions = _narrowed(versions, clause, place, prefix="model__" if clause.key == "name" else "")
    found, numbers = [], {}
    for version in versions:
        if version.model_id not in numbers:
            numbers[version.model_id] = version_numbers(version.model)
        version.mlflow_number = numbers[version.model_id][version.pk]
        if all(_number_matches(version.mlflow_number, clause) for clause in numbered):
            found.append(version)
    return found


def _number_matches(number: str, clause: Clause) -> bool:
    if clause.op in ("LIKE", "ILIKE"):
        raise _invalid(FilterInvalid("filter: version_number is compared with = or !=."))
    return (number == clause.value) == (clause.op == "=")

"""Naming, after registration, the data set a version's evidence is computed on. A version registered through
MLflow's client has none (MLflow's create call carries no data set); the reserved tag EVALUATION_DATASET_TAG
(on create or set-tag) and the native PATCH name one through the service below, while no approval is in force:
an approval was given on the evidence of the data it named, and that never changes under it."""

from django.conf import settings
from django.db import transaction

from audits.services import actor_for, audit_event_append, object_ref
from core.blobs import blob_path
from core.errors import DomainError
from core.permissions import model_write_check
from registry.metadata import RESERVED_TAG
from registry.models import Dataset, ModelVersion, Stage
from registry.selectors import approval_valid, datasets_readable
from registry.services import artifact_validate

EVALUATION_DATASET_TAG = RESERVED_TAG
FIELD = "evaluation_dataset"


def _invalid(field: str, message: str) -> DomainError:
    return DomainError("invalid", f"{field}: {message}", fields={field: [message]})


def evaluation_dataset_resolve(*, user, value, field: str = FIELD) -> Dataset:
    """A data set named by its id (a number, or its digits as text, as an MLflow tag's value is), among those the
    user may read: another team's data set does not exist for them, as everywhere else."""
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _invalid(field, "the id of a data set registered with POST /api/v1/datasets/ (a whole number).")
    dataset = datasets_readable(user).filter(pk=int(text)).first()
    if dataset is None:
        raise _invalid(field, f"no data set {text} that you may read.")
    return dataset


def _approvals_in_force(version: ModelVersion) -> list[str]:
    sha256 = version.artifact.sha256 if version.artifact_id else ""
    return [stage for stage in (Stage.STAGING, Stage.PRODUCTION) if approval_valid(version, stage, sha256)]


def _fits(version: ModelVersion, dataset: Dataset, field: str) -> None:
    """The data must be the model's (or tied to no model) and usable as evidence: the artifact predicts its rows
    in the sandbox, as at registration; a version known by its predictions needs the data's prediction column."""
    if dataset.model_id not in (None, version.model_id):
        raise _invalid(field, f"data set {dataset.pk} belongs to model {dataset.model.name!r}.")
    if version.artifact_id is None:
        if not dataset.schema.get("prediction"):
            raise _invalid(field, "this version is known by its predictions: the data set needs a prediction column.")
        return
    artifact_validate(blob_path(settings.ARTIFACT_ROOT, version.artifact.sha256), dataset, field=field)


@transaction.atomic
def model_version_evaluation_dataset_set(*, version: ModelVersion, dataset, user, field: str = FIELD) -> ModelVersion:
    """Names the data the version's explanation and bias audit are computed on (`dataset`: a data set, or its id
    as given, resolved among those the user may read once the user may write the model); refused (409) while an
    approval of the version is in force. Audited as `model_version.evaluation_dataset_set`."""
    version = (
        ModelVersion.objects.select_for_update(of=("self",)).select_related("model", "artifact").get(pk=version.pk)
    )
    model_write_check(user, version.model)
    if not isinstance(dataset, Dataset):
        dataset = evaluation_dataset_resolve(user=user, value=dataset, field=field)
    if version.evaluation_dataset_id == dataset.pk:
        return version
    in_force = _approvals_in_force(version)
    if in_force:
        raise DomainError(
            "approval_in_force",
            f"{field}: {version} is approved for {' and '.join(in_force)} on the evidence of its current data; "
            "register a new version to evaluate it on other data.",
            fields={field: ["An approval of this version is in force."]},
            status_code=409,
        )
    _fits(version, dataset, field)
    previous = version.evaluation_dataset
    version.evaluation_dataset = dataset
    version.save(update_fields=["evaluation_dataset"])
    audit_event_append(
        actor=actor_for(user),
        action="model_version.evaluation_dataset_set",
        object_ref=object_ref(version),
        data={
            "model": version.model.name,
            "version": version.version,
            "dataset": dataset.pk,
            "dataset_sha256": dataset.sha256,
            "previous_dataset_sha256": previous.sha256 if previous else None,
        },
    )
    return version

"""Writes to the registry: models, versions with their artifacts, datasets."""

import math
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from audits.services import actor_for, audit_event_append, object_ref
from core import blobs as storage
from core.errors import DomainError
from core.permissions import model_write_check
from mlio.acceptance import validate_artifact
from mlio.artifacts import ArtifactRejected
from mlio.datasets import DatasetInvalid, DatasetSchema, inspect_dataset, load_frame
from registry.mlflow_sources import mlflow_artifact_allowed, mlflow_calls, mlflow_http_limits, mlflow_store_allowed
from registry.models import Artifact, Dataset, ModelVersion, RegisteredModel
from registry.signatures import signature_bytes, signature_check, signature_record
from registry.teams import model_team_for

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


@transaction.atomic
def model_register(
    *, user, name: str, risk_tier: str, team: str | None = None, risk_tier_from: str = "", **fields
) -> RegisteredModel:
    """Registers a model; `risk_tier_from` names where a tier nobody gave came from (a setting), for the trail
    and the version's page."""
    if RegisteredModel.objects.filter(name=name).exists():
        raise DomainError(
            "conflict", f"name: a model named {name!r} exists.", fields={"name": ["Already exists."]}, status_code=409
        )
    owning_team = model_team_for(user=user, team=team)
    model = RegisteredModel.objects.create(name=name, risk_tier=risk_tier, owner=user, team=owning_team, **fields)
    audit_event_append(
        actor=actor_for(user),
        action="model.registered",
        object_ref=object_ref(model),
        data={
            "name": name,
            "risk_tier": risk_tier,
            "frameworks": model.frameworks,
            "data_classification": model.data_classification,
            "team": owning_team.name,
            **({"risk_tier_from": risk_tier_from} if risk_tier_from else {}),
        },
    )
    return model


def _existing_version(model: RegisteredModel, version: str, sha256: str | None) -> ModelVersion | None:
    existing = ModelVersion.objects.filter(model=model, version=version).select_related("artifact").first()
    if existing is None:
        return None
    if (existing.artifact.sha256 if existing.artifact else None) != sha256:
        raise DomainError(
            "conflict",
            f"version: {model.name} {version} is registered with other bytes; "
            "a registered version never changes. Register a new version.",
            fields={"version": ["Registered with a different artifact."]},
            status_code=409,
        )
    return existing


def _probe_sample(dataset: Dataset | None, workdir: Path) -> str | None:
    if dataset is None:
        return None
    features = dataset.schema["features"]
    frame = load_frame(dataset_path(dataset), dataset.format, columns=features)
    sample = workdir / "sample.csv"
    frame.head(settings.ARTIFACT_PROBE_SAMPLE_ROWS).to_csv(sample, index=False)
    return str(sample)


def artifact_validate(temp: Path, sample_dataset: Dataset | None, *, field: str = "artifact"):
    """The acceptance check: the format read from the bytes, and the artifact made to predict the sample's rows
    in the sandbox. A refusal is a 400 (413 when too large) naming `field`."""
    with tempfile.TemporaryDirectory() as workdir:
        try:
            return validate_artifact(
                temp,
                max_bytes=settings.MAX_ARTIFACT_BYTES,
                allow_pickle=settings.ALLOW_PICKLE_ARTIFACTS,
                sample_csv=_probe_sample(sample_dataset, Path(workdir)),
                feature_names=sample_dataset.schema["features"] if sample_dataset else None,
                timeout_s=settings.ARTIFACT_PROBE_TIMEOUT,
                memory_mb=settings.ARTIFACT_PROBE_MEMORY_MB,
                unpacked_ratio=settings.ARTIFACT_UNPACKED_RATIO,
            )
        except ArtifactRejected as exc:
            raise DomainError(
                exc.code,
                f"{field}: {exc.message}",
                fields={field: [exc.message]},
                status_code=413 if exc.code == "too_large" else 400,
            ) from exc


def model_version_register(
    *,
    user,
    model: RegisteredModel,
    version: str,
    upload,
    metadata: dict,
    sample_dataset: Dataset | None = None,
    signature=None,
) -> tuple[ModelVersion, bool]:
    """Registers a version; returns (version, created). The same bytes again return the existing version.
    With a signature (an OpenSSF model-signing bundle), it must verify over the artifact's files against a
    key or root the model's team trusts, or the registration is refused with the reason."""
    model_write_check(user, model)
    bundle = signature_bytes(signature)
    if not SEMVER.match(version):
        raise DomainError(
            "invalid", "version: use semantic versioning, e.g. 1.4.0.", fields={"version": ["Not a semantic version."]}
        )
    if upload is None and bundle is not None:
        raise DomainError(
            "invalid",
            "signature: a signature covers an artifact; none was uploaded.",
            fields={"signature": ["No artifact to verify."]},
        )
    if upload is None:
        return _recorded_predictions_version(
            user=user, model=model, version=version, metadata=metadata, dataset=sample_dataset
        )
    temp, sha256, size = storage.receive(
        upload, root=settings.ARTIFACT_ROOT, max_bytes=settings.MAX_ARTIFACT_BYTES, field="artifact"
    )
    try:
        existing = _existing_version(model, version, sha256)
        if existing:
            return existing, False
        report = artifact_validate(temp, sample_dataset)
        signed = signature_check(model=model, artifact=temp, bundle=bundle) if bundle is not None else None
        storage.keep(temp, root=settings.ARTIFACT_ROOT, sha256=sha256)
    finally:
        temp.unlink(missing_ok=True)
    metadata = {**metadata, "evaluation_dataset": sample_dataset}
    signed = (*signed, bundle) if signed else None
    return _create_version(
        user=user,
        model=model,
        version=version,
        metadata=metadata,
        report=report,
        sha256=sha256,
        size=size,
        signed=signed,
    ), True


def _recorded_predictions_version(*, user, model, version, metadata, dataset) -> tuple[ModelVersion, bool]:
    """A vendor model known only by the predictions it made: audited from the dataset's prediction column."""
    if dataset is None or not dataset.schema.get("prediction"):
        raise DomainError(
            "invalid",
            "artifact: required, unless sample_dataset records the model's predictions.",
            fields={"artifact": ["Upload the model, or name a dataset with a prediction column."]},
        )
    existing = _existing_version(model, version, None)
    if existing:
        return existing, False
    report = RecordedReport(dataset.schema["prediction"])
    return _create_version(
        user=user,
        model=model,
        version=version,
        report=report,
        sha256=None,
        size=None,
        metadata={**metadata, "evaluation_dataset": dataset},
    ), True


class RecordedReport:
    """What stands in for an artifact report when there is no artifact."""

    format, framework, framework_version = "recorded_predictions", "", ""

    def __init__(self, column: str):
        self.column = column

    def to_dict(self) -> dict:
        return {"format": self.format, "prediction_column": self.column}


@transaction.atomic
def _create_version(*, user, model, version, metadata, report, sha256, size, signed=None) -> ModelVersion:
    artifact = None
    if sha256:
        artifact, _ = Artifact.objects.get_or_create(sha256=sha256, defaults={"size": size, "format": report.format})
    fields = {
        "flavor": report.format,
        "framework": report.framework or "",
        "framework_version": report.framework_version or "",
        "artifact_report": report.to_dict(),
        **metadata,
    }
    try:
        with transaction.atomic():
            created = ModelVersion.objects.create(
                model=model, version=version, artifact=artifact, submitted_by=user, **fields
            )
    except IntegrityError as exc:  # a concurrent registration of the same version won
        raise DomainError(
            "conflict",
            f"version: {model.name} {version} was just registered.",
            fields={"version": ["Already exists."]},
            status_code=409,
        ) from exc
    audit_event_append(
        actor=actor_for(user),
        action="model_version.registered",
        object_ref=object_ref(created),
        data={
            "model": model.name,
            "version": version,
            "artifact_sha256": sha256,
            "artifact_size": size,
            "format": report.format,
            "lineage": created.lineage,
            "evaluation_dataset_sha256": getattr(created.evaluation_dataset, "sha256", None),
            "signature": _signature_recorded(created, signed),
        },
    )
    return created


def _signature_recorded(version: ModelVersion, signed) -> dict | None:
    if signed is None:
        return None
    verified, trusted, bundle = signed
    return signature_record(version=version, verified=verified, trusted=trusted, bundle=bundle)


def dataset_path(dataset: Dataset) -> Path:
    return storage.blob_path(settings.DATASET_ROOT, dataset.sha256)


def _checked_schema(declared: dict) -> DatasetSchema:
    try:
        return DatasetSchema.from_dict(declared)
    except DatasetInvalid as exc:
        raise DomainError("invalid", exc.message, fields=exc.problems) from exc


def dataset_register(
    *, user, name: str, kind: str, upload, schema: dict, model: RegisteredModel | None = None
) -> Dataset:
    if model is not None:
        model_write_check(user, model)
    declared = _checked_schema(schema)
    temp, sha256, size = storage.receive(
        upload, root=settings.DATASET_ROOT, max_bytes=settings.MAX_DATASET_BYTES, field="file"
    )
    try:
        profile = inspect_dataset(temp, declared, max_bytes=settings.MAX_DATASET_BYTES)
        extra = _drift_reference(temp, profile, declared) if kind == Dataset.Kind.REFERENCE else {}
        storage.keep(temp, root=settings.DATASET_ROOT, sha256=sha256)
    except DatasetInvalid as exc:
        raise DomainError("invalid", exc.message, fields=exc.problems) from exc
    finally:
        temp.unlink(missing_ok=True)
    return _create_dataset(user=user, name=name, kind=kind, model=model, schema=declared, profile=profile, extra=extra)


@transaction.atomic
def _drift_reference(path: Path, profile, schema: DatasetSchema) -> dict:
    """The reference bins are fixed when the reference dataset is registered, and kept by digest."""
    from core import evidence_store
    from mlio.reference_profile import reference_profile_for

    frame = load_frame(path, profile.format, columns=schema.features)
    return {"drift_reference_sha256": evidence_store.put_json(reference_profile_for(frame, schema.features))}


def _create_dataset(*, user, name, kind, model, schema, profile, extra) -> Dataset:
    dataset = Dataset.objects.create(
        name=name,
        kind=kind,
        model=model,
        sha256=profile.sha256,
        size=profile.size,
        format=profile.format,
        schema=schema.to_dict(),
        profile={**profile.to_dict(), **extra},
        registered_by=user,
    )
    audit_event_append(
        actor=actor_for(user),
        action="dataset.registered",
        object_ref=object_ref(dataset),
        data={
            "name": name,
            "kind": kind,
            "sha256": profile.sha256,
            "size": profile.size,
            "rows": profile.rows,
            "drift_reference_sha256": extra.get("drift_reference_sha256"),
            "model": model.name if model else None,
            "schema": schema.to_dict(),
        },
    )
    return dataset


def _mlflow_metadata(imported, tracking_uri: str, source: str) -> dict:
    # MLflow accepts NaN and infinite metrics; JSON and the audit trail do not, so they are named, not kept.
    finite = {k: v for k, v in imported.metrics.items() if math.isfinite(v)}
    lineage = {**imported.lineage, "mlflow_tracking_uri": tracking_uri}
    if len(finite) < len(imported.metrics):
        lineage["non_finite_metrics"] = sorted(set(imported.metrics) - set(finite))
    tags = {**imported.tags, **{f"param.{k}": v for k, v in imported.params.items()}}
    return {"tags": tags, "metrics": finite, "lineage": lineage, "description": f"Imported from MLflow {source}"}


def model_version_import(
    *,
    user,
    model: RegisteredModel,
    version: str,
    tracking_uri: str,
    source: str,
    sample_dataset: Dataset | None = None,
    signature=None,
) -> tuple[ModelVersion, bool]:
    """A new version from an MLflow model, with its run's params, metrics, tags and lineage; a signature is
    verified over the files of the model folder downloaded from MLflow."""
    from django.core.files import File

    from mlio.mlflow import import_model

    model_write_check(user, model)
    mlflow_store_allowed(tracking_uri)
    with tempfile.TemporaryDirectory() as workdir:
        with mlflow_calls():
            imported = import_model(
                tracking_uri=tracking_uri,
                source=source,
                workdir=Path(workdir),
                artifact_check=mlflow_artifact_allowed(tracking_uri),
            )
        metadata = _mlflow_metadata(imported, tracking_uri, source)
        with open(imported.zip_path, "rb") as handle:
            return model_version_register(
                user=user,
                model=model,
                version=version,
                upload=File(handle),
                metadata=metadata,
                sample_dataset=sample_dataset,
                signature=signature,
            )


def _mlflow_marker_due(version: ModelVersion) -> bool:
    lineage = version.lineage
    return bool(
        settings.MLFLOW_PRODUCTION_ALIAS
        and lineage.get("mlflow_tracking_uri")
        and lineage.get("mlflow_model_name")
        and version.stage == "production"
    )


def model_version_mlflow_mark(*, version_pk: int) -> bool:
    """Sets the configured alias and a tag in MLflow when an imported version reaches production.

    False when there is nothing to mark (not imported from MLflow, not in production, no alias set).
    The MLflow call happens outside any transaction; its audit event is written once it succeeded.
    """
    from mlio.mlflow import set_production_marker

    version = ModelVersion.objects.select_related("model").get(pk=version_pk)
    if not _mlflow_marker_due(version):
        return False
    lineage = version.lineage
    mlflow_store_allowed(lineage["mlflow_tracking_uri"])  # the allow-list may have changed since the import
    with mlflow_http_limits():  # an MlflowImportError goes to the task, which retries an unreachable server
        set_production_marker(
            tracking_uri=lineage["mlflow_tracking_uri"],
            model_name=lineage["mlflow_model_name"],
            version=lineage["mlflow_model_version"],
            alias=settings.MLFLOW_PRODUCTION_ALIAS,
        )
    with transaction.atomic():
        audit_event_append(
            actor="system",
            action="model_version.mlflow_marked",
            object_ref=object_ref(version),
            data={
                "alias": settings.MLFLOW_PRODUCTION_ALIAS,
                "mlflow_model": lineage["mlflow_model_name"],
                "mlflow_version": lineage["mlflow_model_version"],
            },
        )
    return True

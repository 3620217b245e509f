"""A model version's ML-BOM: its facts read from the database, and its issue, recorded in the trail.

The facts are those the model card shows (reports.card and reports.card_evidence), read from the newest
succeeded evidence of the version's current artifact, plus the versions of the libraries this service runs
its format with. Each distinct BOM of a version is recorded once in the trail (its SHA-256): a download
of the same bytes again adds nothing, new evidence gives a new BOM and a new event.
"""

import json
from importlib import metadata

from django.db import transaction

from audits.ledger.hashing import sha256_hex
from audits.models import AuditEvent
from audits.services import audit_event_append, object_ref
from registry.models import ModelVersion
from reports import card_evidence
from reports.card import data_section, job_pointer, latest_jobs, limitations, model_details, performance_section, ts
from reports.mlbom import FILE_NAME, RUNTIME_LIBRARIES, bom_bytes, bom_document

ISSUED = "model_version.ml_bom_issued"


def runtime_libraries(artifact_format: str | None) -> list[dict]:
    found = []
    for name in RUNTIME_LIBRARIES.get(artifact_format or "", ()):
        try:
            found.append({"name": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            continue
    return found


def _sections(version: ModelVersion, jobs: dict) -> tuple:
    bias, explanation, drift = (jobs.get(kind) for kind in ("bias_audit", "explanation", "drift_check"))
    fairness = card_evidence.fairness_section(job_pointer(bias), bias.result) if bias else None
    names = (version.artifact_report or {}).get("feature_names") or []
    explained = (
        card_evidence.explainability_section(job_pointer(explanation), explanation.result, names)
        if explanation
        else None
    )
    drifted = card_evidence.drift_section(job_pointer(drift), drift.result) if drift else None
    performance = performance_section(version, bias, fairness)
    return performance, fairness, limitations(version, fairness, explained, drifted)


def bom_facts(version: ModelVersion, *, as_of=None) -> dict:
    """What the BOM says; with as_of, from the evidence that had finished by then (a model card's moment)."""
    version = ModelVersion.objects.select_related("model", "artifact", "evaluation_dataset").get(pk=version.pk)
    jobs = latest_jobs(version, as_of)
    details = model_details(version)
    data = data_section(version, jobs)
    performance, fairness, caveats = _sections(version, jobs)
    evaluation = version.evaluation_dataset
    stamps = [version.created_at, version.model.created_at, *(job.finished_at for job in jobs.values())]
    return {
        "model": version.model.name,
        "version": version.version,
        "description": version.description or version.model.description,
        "risk_tier": version.model.risk_tier,
        "artifact": details["artifact"],
        "flavor": version.flavor,
        "framework": version.framework,
        "framework_version": version.framework_version,
        "model_class": details["model_class"],
        "feature_names": details["feature_names"],
        "task": (fairness or {}).get("task") or (evaluation.schema.get("task") if evaluation else None),
        "lineage": version.lineage,
        "data_classification": data["classification"],
        "datasets": data["datasets"],
        "performance": performance,
        "fairness": fairness,
        "limitations": caveats,
        "intended_use": {"intended": version.model.intended_use, "out_of_scope": version.model.out_of_scope_uses},
        "runtime": runtime_libraries(details["artifact"]["format"] if details["artifact"] else None),
        "timestamp": ts(max(stamps)),
    }


def model_version_bom(version: ModelVersion) -> bytes:
    """The BOM's bytes as they stand (a read: nothing is recorded)."""
    return bom_bytes(bom_document(bom_facts(version)))


def ml_bom_section(version: ModelVersion, *, as_of=None) -> dict:
    """The BOM as a model card carries it: the document (embedded in the PDF as FILE_NAME) and its SHA-256,
    which the report's rendered event records in the trail."""
    document = bom_document(bom_facts(version, as_of=as_of))
    return {"spec_version": "1.6", "file": FILE_NAME, "sha256": sha256_hex(bom_bytes(document)), "document": document}


def _last_recorded(version: ModelVersion) -> str | None:
    event = AuditEvent.objects.filter(object_ref=object_ref(version), action=ISSUED).order_by("-seq").first()
    return json.loads(bytes(event.body))["data"]["bom_sha256"] if event else None


@transaction.atomic
def model_version_bom_issue(*, version: ModelVersion, actor: str) -> bytes:
    """The BOM's bytes, its SHA-256 recorded in the trail unless the last one recorded for the version is the same."""
    data = model_version_bom(version)
    digest = sha256_hex(data)
    if _last_recorded(version) != digest:
        audit_event_append(
            actor=actor,
            action=ISSUED,
            object_ref=object_ref(version),
            data={
                "model": version.model.name,
                "version": version.version,
                "bom_sha256": digest,
                "spec_version": "1.6",
                "artifact_sha256": version.artifact.sha256 if version.artifact_id else None,
            },
        )
    return data

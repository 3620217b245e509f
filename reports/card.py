"""The model card document of a model version, read from the database (a selector).

Mitchell et al. 2019, "Model Cards for Model Reporting", extended with what an auditor needs: the framework
checklist with an evidence pointer per item, attestations, approvals and the audit trail with the signed
checkpoint that covers it. The document is plain JSON: it is stored as Report.inputs, embedded in the PDF and
rendered again from there. Nothing in it comes from the wall clock: generated_at is the newest timestamp
among its inputs, and a card built "as of" a moment reads only what existed then.
"""

from datetime import datetime

from audits.ledger.hashing import format_ts
from audits.services import actor_for
from evidence.models import EvidenceJob
from evidence.selectors import evidence_job_newest
from evidence.unexplainable import RECORDED_ONLY
from registry.models import ApprovalRequest, Dataset, ModelVersion
from registry.policies import policy_for
from reports import card_evidence
from reports.card_monitoring import monitoring_section
from reports.card_trail import approvals_section, attestations_section, audit_section, trail_refs

SCHEMA = "verity.model-card/1"
COMBINED = "combined"
EVIDENCE_KINDS = (EvidenceJob.Kind.EXPLANATION, EvidenceJob.Kind.BIAS_AUDIT, EvidenceJob.Kind.DRIFT_CHECK)


def ts(value: datetime | None) -> str | None:
    return format_ts(value) if value else None


def job_pointer(job: EvidenceJob) -> dict:
    return {"kind": "evidence_job", "id": job.pk, "job_kind": job.kind, "sha256": job.result_sha256}


def latest_jobs(version: ModelVersion, as_of: datetime | None) -> dict[str, EvidenceJob]:
    """The newest succeeded job of each kind on the version's current artifact, finished by as_of."""
    found = {}
    for kind in EVIDENCE_KINDS:
        job = evidence_job_newest(version, kind, succeeded=True, as_of=as_of)
        if job is not None:
            found[kind] = job
    return found


def scope_frameworks(model, scope: str) -> list[str]:
    from reports.checklists import applicable_frameworks

    return sorted(applicable_frameworks(model)) if scope == COMBINED else [scope]


def card_build(*, version: ModelVersion, scope: str, as_of: datetime | None = None, until_seq: int | None = None):
    """The card document for one framework (scope) or all that apply ("combined"). With as_of, inputs newer
    than that moment are left out; with until_seq, audit events after that seq."""
    version = ModelVersion.objects.select_related("model__owner", "submitted_by", "artifact", "evaluation_dataset").get(
        pk=version.pk
    )
    jobs = latest_jobs(version, as_of)
    frameworks = scope_frameworks(version.model, scope)
    sections = _evidence_sections(version, jobs)
    stamps = [version.created_at, version.model.created_at, *(job.finished_at for job in jobs.values())]
    if as_of is not None:
        stamps.append(as_of)
    monitoring, monitoring_stamps = monitoring_section(version, as_of)
    stamps += monitoring_stamps
    if monitoring and monitoring.get("windows"):  # production data has been compared, window by window
        computed = sections["limitations"]["computed"]
        sections["limitations"]["computed"] = [caveat for caveat in computed if caveat != NO_DRIFT_CHECK]
    checklist_now = as_of or max(stamps)
    card = {
        "schema": SCHEMA,
        "scope": scope,
        "frameworks": frameworks,
        "checklist": checklist_section(version, frameworks, now=checklist_now),
        "document_control": document_control(version, as_of),
        "model_details": model_details(version),
        "intended_use": {"intended": version.model.intended_use, "out_of_scope": version.model.out_of_scope_uses},
        "data": data_section(version, jobs),
        **sections,
        "monitoring": monitoring,
        "attestations": attestations_section(version, frameworks, as_of),
        "approvals": approvals_section(version, as_of),
        "audit": audit_section(trail_refs(version, _dataset_ids(version, jobs)), until_seq, as_of),
    }
    card["executive_summary"] = executive_summary(version, card, jobs)
    card["generated_at"] = format_ts(max(stamps + _card_stamps(card)))
    return card


def annex_iv_build(*, version: ModelVersion, scope: str, as_of: datetime | None = None, until_seq: int | None = None):
    """The EU AI Act technical documentation (Annex IV): the EU AI Act card, assembled section by section."""
    from reports.annex_iv import FRAMEWORK, annex_iv_document

    return annex_iv_document(card_build(version=version, scope=FRAMEWORK, as_of=as_of, until_seq=until_seq))


def _evidence_sections(version: ModelVersion, jobs: dict) -> dict:
    bias, explanation, drift = (jobs.get(kind) for kind in ("bias_audit", "explanation", "drift_check"))
    fairness = card_evidence.fairness_section(job_pointer(bias), bias.result) if bias else None
    names = (version.artifact_report or {}).get("feature_names") or []
    if explanation and not names:
        names = explanation.dataset.schema.get("features") or []
    explained = (
        card_evidence.explainability_section(job_pointer(explanation), explanation.result, names)
        if explanation
        else None
    )
    drifted = card_evidence.drift_section(job_pointer(drift), drift.result) if drift else None
    return {
        "performance": performance_section(version, bias, fairness),
        "fairness": fairness or {"missing": _missing("bias audit", version, "bias_audit")},
        "explainability": explained or {"missing": _explanation_missing(version)},
        "drift": drifted,
        "limitations": limitations(version, fairness, explained, drifted),
    }


UNEXPLAINABLE_MEANS = {
    "block": "the policy still requires an explanation, so this version cannot be approved",
    "not_applicable": "the policy marks explanation not applicable to it",
    "waivable": "the policy lets a compliance officer waive the explanation in writing",
}


def _explanation_missing(version: ModelVersion) -> str:
    """Why the card has no explanation; for a version known only by its predictions, what the policy says."""
    if version.artifact_id is not None:
        return _missing("explanation", version, "explanation")
    policy = policy_for(version)
    setting = policy.unexplainable if policy else "block"
    tier = version.model.risk_tier
    return f"Not explainable: {RECORDED_ONLY}. Under the {tier} risk policy, {UNEXPLAINABLE_MEANS[setting]}."


def _missing(label: str, version: ModelVersion, kind: str) -> str:
    latest = EvidenceJob.objects.filter(version=version, kind=kind).order_by("-created_at").first()
    if latest is None:
        return f"No {label} has been run for this version."
    return f"No {label} of this artifact has succeeded; the latest (job {latest.pk}) is {latest.status}."


def _card_stamps(card: dict) -> list[datetime]:
    """Timestamps that entered the card as text (attestations, approvals, events, checkpoint)."""
    found = [a["answered_at"] for a in card["attestations"]]
    for request in card["approvals"]:
        found += [request["created_at"]] + [d["created_at"] for d in request["decisions"]]
    found += [event["ts"] for event in card["audit"]["events"]]
    if card["audit"]["checkpoint"]:
        found.append(card["audit"]["checkpoint"]["ts"])
    return [datetime.fromisoformat(value) for value in found if value]


def checklist_section(version: ModelVersion, frameworks: list[str], *, now: datetime) -> list[dict]:
    from reports.checklists import checklist_evaluate, checklist_summary, framework_definition

    sections = []
    for framework in frameworks:
        definition = framework_definition(framework)
        results = checklist_evaluate(version, framework, now=now)
        sections.append(
            {
                "id": definition["id"],
                "title": definition["title"],
                "version": definition["version"],
                "summary": checklist_summary(results),
                "items": [result.to_dict() for result in results],
            }
        )
    return sections


def document_control(version: ModelVersion, as_of: datetime | None) -> dict:
    requests = ApprovalRequest.objects.filter(version=version).order_by("-created_at", "-pk")
    if as_of is not None:
        requests = requests.filter(created_at__lte=as_of)
    latest = requests.first()
    approved = requests.filter(status=ApprovalRequest.Status.APPROVED).first()
    model = version.model
    return {
        "model": model.name,
        "version": version.version,
        "stage": version.stage,
        "status": f"{latest.status} ({latest.target_stage})" if latest else "no approval requested",
        "owner": actor_for(model.owner),
        "business_owner": model.business_owner,
        "submitted_by": actor_for(version.submitted_by),
        "created_at": ts(version.created_at),
        "approved_at": ts(approved.decided_at) if approved else None,
        "approval_expires_at": ts(approved.expires_at) if approved else None,
    }


def model_details(version: ModelVersion) -> dict:
    report = version.artifact_report or {}
    artifact = version.artifact
    return {
        "model_description": version.model.description,
        "description": version.description,
        "risk_tier": version.model.risk_tier,
        "framework": version.framework,
        "framework_version": version.framework_version,
        "flavor": version.flavor,
        "model_class": report.get("model_class"),
        "feature_names": list(report.get("feature_names") or []),
        "artifact": {"sha256": artifact.sha256, "format": artifact.format, "size": artifact.size} if artifact else None,
        "signature": model_signature(version),
        "lineage": version.lineage,
        "tags": version.tags,
    }


def model_signature(version: ModelVersion) -> dict | None:
    """The OpenSSF model-signing signature verified over the artifact when the version was registered."""
    from registry.models import ModelSignature

    signature = ModelSignature.objects.filter(version=version).select_related("trusted_signer").first()
    if signature is None:
        return None
    return {
        "evidence": {"kind": "model_signature", "sha256": signature.bundle_sha256, "signer": signature.signer},
        "method": signature.method,
        "signer": signature.signer,
        "signer_fingerprint": signature.signer_fingerprint,
        "trusted_as": signature.trusted_signer.name,
        "predicate_type": signature.predicate_type,
        "artifact_sha256": signature.artifact_sha256,
        "verified_at": ts(signature.verified_at),
    }


def _dataset_ids(version: ModelVersion, jobs: dict) -> list[int]:
    ids = {version.evaluation_dataset_id} if version.evaluation_dataset_id else set()
    for job in jobs.values():
        ids |= {job.dataset_id, job.reference_id} - {None}
    return sorted(ids)


def _dataset(dataset: Dataset, uses: list[str]) -> dict:
    schema, profile = dataset.schema, dataset.profile or {}
    return {
        "id": dataset.pk,
        "name": dataset.name,
        "kind": dataset.kind,
        "used_for": uses,
        "format": dataset.format,
        "sha256": dataset.sha256,
        "size": dataset.size,
        "rows": profile.get("rows"),
        "features": list(schema.get("features") or []),
        "sensitive_features": list(schema.get("sensitive_features") or []),
        "target": schema.get("target"),
        "task": schema.get("task"),
        "positive_rate": profile.get("positive_rate"),
        "warnings": list(profile.get("warnings") or []),
        "registered_by": actor_for(dataset.registered_by),
        "registered_at": ts(dataset.created_at),
    }


def data_section(version: ModelVersion, jobs: dict) -> dict:
    uses: dict[int, list[str]] = {}
    if version.evaluation_dataset_id:
        uses[version.evaluation_dataset_id] = ["evaluation"]
    for kind in sorted(jobs):
        job = jobs[kind]
        uses.setdefault(job.dataset_id, []).append(kind)
        if job.reference_id:
            uses.setdefault(job.reference_id, []).append(f"{kind} reference")
    datasets = Dataset.objects.filter(pk__in=uses).select_related("registered_by").order_by("pk")
    return {
        "classification": sorted(version.model.data_classification),
        "declared_frameworks": sorted(version.model.frameworks),
        "datasets": [_dataset(dataset, sorted(set(uses[dataset.pk]))) for dataset in datasets],
    }


def performance_section(version: ModelVersion, bias: EvidenceJob | None, fairness: dict | None) -> dict:
    measured = None
    if bias:
        measured = {
            "evidence": job_pointer(bias),
            "dataset_sha256": bias.dataset_sha256,
            "n_rows": bias.result.get("n_rows"),
            "overall": card_evidence.estimates(bias.result.get("overall") or {}),
            "theil_index": fairness["theil_index"],
            "by_group": card_evidence.performance_by_group(fairness),
        }
    declared = [{"name": name, "value": version.metrics[name]} for name in sorted(version.metrics)]
    return {"declared": declared, "measured": measured}


NO_DRIFT_CHECK = "No drift check of this version on production data has been recorded."


def limitations(version: ModelVersion, fairness, explained, drift) -> dict:
    computed = card_evidence.computed_caveats(fairness, explained, drift)
    if drift is None:
        computed.append(NO_DRIFT_CHECK)
    if version.artifact is None:
        computed.append("No artifact is registered: evidence comes from the predictions recorded in the data.")
    return {"declared": version.known_limitations, "computed": computed}


def executive_summary(version: ModelVersion, card: dict, jobs: dict) -> dict:
    counts = {"passed": 0, "failed": 0, "open": 0, "not_applicable": 0}
    for framework in card["checklist"]:
        for key in counts:
            counts[key] += framework["summary"].get(key, 0)
    return {
        "risk_tier": version.model.risk_tier,
        "stage": version.stage,
        "status": card["document_control"]["status"],
        "checklist": counts,
        "verdicts": {kind: (jobs[kind].verdict if kind in jobs else None) for kind in EVIDENCE_KINDS},
    }

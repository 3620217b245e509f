"""The EU AI Act Annex IV technical documentation assembled from a model card document (pure: no ORM, no I/O
but reading the two data files beside it, no clock).

The sections and their parts are kept in technical_documentation/annex_iv.yaml, the cross-walk from each kind
of evidence to ISO/IEC 42001 Annex A and the NIST AI RMF in technical_documentation/crosswalk.yaml. A part is
met from the evidence (a check below, over the EU AI Act card) or by a person (a current attestation of an EU
AI Act checklist item). A section is filled from evidence when every part is met by evidence, attested when
every part is met and a person attested at least one, and open otherwise, naming what is missing.
"""

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "technical_documentation"
SCHEMA = "verity.annex-iv/1"
SCOPE = "annex_iv"
FRAMEWORK = "eu_ai_act"
FILLED, ATTESTED, OPEN = "filled_from_evidence", "attested", "open"
MET_BY_PERSON = ("passed", "not_applicable")


class TechnicalDocumentationInvalid(ValueError):
    """A data file breaks a rule; every problem is named."""


# Checks: card -> (met, pointers, what is missing when not met).
CHECKS: dict[str, Callable[[dict], tuple[bool, list[dict], str]]] = {}


def check(function):
    CHECKS[function.__name__] = function
    return function


def _version_pointer(card: dict) -> dict:
    control = card["document_control"]
    return {"kind": "model_version", "model": control["model"], "version": control["version"]}


def _checklist_item(card: dict, item_id: str) -> dict | None:
    for framework in card["checklist"]:
        if framework["id"] == FRAMEWORK:
            return next((item for item in framework["items"] if item["item_id"] == item_id), None)
    return None


def _rule(card: dict, item_id: str) -> tuple[bool, list[dict], str]:
    item = _checklist_item(card, item_id)
    if item is None:
        return False, [], f"the EU AI Act checklist item {item_id} was not evaluated"
    if item["status"] == "passed":
        return True, list(item["evidence"]), ""
    return False, list(item["evidence"]), f"checklist item {item_id} is {item['status']}: {item['reason']}"


@check
def purpose_declared(card):
    intended = (card["intended_use"].get("intended") or "").strip()
    return bool(intended), [_version_pointer(card)], "the model's intended use is not recorded"


@check
def system_described(card):
    details = card["model_details"]
    missing = [
        label
        for label, value in (
            ("a description", details.get("model_description") or details.get("description")),
            ("the framework", details.get("framework")),
            ("the framework version", details.get("framework_version")),
            ("the flavour", details.get("flavor")),
        )
        if not value
    ]
    return not missing, [_version_pointer(card)], "the registry lacks " + ", ".join(missing)


@check
def artifact_registered(card):
    artifact = card["model_details"].get("artifact")
    if not artifact:
        return False, [], "no artifact is registered: the version is known only by its recorded predictions"
    return True, [{"kind": "artifact", "sha256": artifact["sha256"]}], ""


@check
def lineage_recorded(card):
    lineage = card["model_details"].get("lineage") or {}
    return bool(lineage), [_version_pointer(card)] if lineage else [], "no lineage (training run, source) recorded"


@check
def data_registered(card):
    datasets = card["data"]["datasets"]
    pointers = [{"kind": "dataset", "id": d["id"], "sha256": d["sha256"]} for d in datasets]
    return bool(datasets), pointers, "no evaluation data set is registered for this version"


@check
def validation_measured(card):
    measured = card["performance"].get("measured")
    if not measured:
        return False, [], "no performance has been measured on the evaluation data (a bias audit measures it)"
    return True, [measured["evidence"]], ""


@check
def bias_examined(card):
    fairness = card["fairness"]
    if fairness.get("missing"):
        return False, [], fairness["missing"]
    return True, [fairness["evidence"]], ""


@check
def explanation_available(card):
    explained = card["explainability"]
    if explained.get("missing"):
        return False, [], explained["missing"]
    return True, [explained["evidence"]], ""


@check
def limitations_declared(card):
    declared = card["limitations"].get("declared") or []
    return bool(declared), [_version_pointer(card)], "no known limitations are declared for this version"


@check
def metrics_declared(card):
    declared = card["performance"].get("declared") or []
    return bool(declared), [_version_pointer(card)], "no metrics are declared for this version"


@check
def performance_documented(card):
    return _rule(card, "EUAIA-15")


@check
def integrity_verified(card):
    return _rule(card, "EUAIA-15-5")


@check
def trail_verified(card):
    return _rule(card, "EUAIA-12")


@check
def monitoring_in_place(card):
    return _rule(card, "EUAIA-72")


@check
def changes_logged(card):
    events = card["audit"]["events"]
    pointers = [{"kind": "audit_event", "seq": e["seq"], "hash": e["hash"]} for e in events]
    return bool(events), pointers, "the trail holds no event of this version"


def _problems_part(part, index: int, items: set[str]) -> list[str]:
    if not isinstance(part, dict):
        return [f"part {index + 1}: must be a mapping"]
    label = f"part {part.get('id', index + 1)}"
    problems = [f"{label}: {key}: unknown field" for key in part if key not in ("id", "covers", "check", "attested_by")]
    problems += [f"{label}: {key}: required" for key in ("id", "covers") if not part.get(key)]
    if ("check" in part) == ("attested_by" in part):
        problems.append(f"{label}: name exactly one of check and attested_by")
    if "check" in part and part["check"] not in CHECKS:
        problems.append(f"{label}: check: unknown check {part['check']!r}")
    if "attested_by" in part and part["attested_by"] not in items:
        problems.append(f"{label}: attested_by: {part['attested_by']!r} is no human item of the EU AI Act checklist")
    return problems


def annex_validate(data, *, human_items: set[str]) -> dict:
    """The Annex IV file unchanged, or TechnicalDocumentationInvalid naming every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        raise TechnicalDocumentationInvalid("annex_iv: must map id, title, version, source and sections")
    problems = [f"{key}: required" for key in ("id", "title", "version", "source") if not data.get(key)]
    points = [section.get("point") for section in data["sections"]]
    if points != [str(n) for n in range(1, 10)]:
        problems.append("sections: must be Annex IV points 1 to 9, in order")
    for section in data["sections"]:
        for key in ("title", "paraphrase", "source", "parts"):
            if not section.get(key):
                problems.append(f"section {section.get('point')}: {key}: required")
        for index, part in enumerate(section.get("parts") or []):
            problems += [f"section {section.get('point')}: {p}" for p in _problems_part(part, index, human_items)]
    if problems:
        raise TechnicalDocumentationInvalid("annex_iv: " + "; ".join(problems))
    return data


def crosswalk_validate(data) -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("evidence"), list):
        raise TechnicalDocumentationInvalid("crosswalk: must map id, title, version, source and evidence")
    problems = [f"{key}: required" for key in ("id", "title", "version", "source") if not data.get(key)]
    kinds = [entry.get("kind") for entry in data["evidence"]]
    problems += [f"evidence {kind}: listed more than once" for kind in sorted({k for k in kinds if kinds.count(k) > 1})]
    for entry in data["evidence"]:
        for key in ("kind", "title", "annex_iv", "iso_42001", "nist_ai_rmf"):
            if not entry.get(key):
                problems.append(f"evidence {entry.get('kind')}: {key}: required")
        for control in [*(entry.get("iso_42001") or []), *(entry.get("nist_ai_rmf") or [])]:
            if not (isinstance(control, dict) and set(control) == {"id", "title"} and all(control.values())):
                problems.append(f"evidence {entry.get('kind')}: each control is an id and a title, nothing else")
        if any(point not in [str(n) for n in range(1, 10)] for point in entry.get("annex_iv") or []):
            problems.append(f"evidence {entry.get('kind')}: annex_iv: points are 1 to 9")
    if problems:
        raise TechnicalDocumentationInvalid("crosswalk: " + "; ".join(problems))
    return data


def _read(name: str):
    return yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def annex_load() -> dict:
    from reports.frameworks import framework_load

    items = {item["id"] for item in framework_load(FRAMEWORK)["items"] if item["decided_by"] == "human"}
    return annex_validate(_read("annex_iv"), human_items=items)


@lru_cache(maxsize=1)
def crosswalk_load() -> dict:
    return crosswalk_validate(_read("crosswalk"))


def _attested_part(card: dict, item_id: str) -> tuple[bool, list[dict], str]:
    item = _checklist_item(card, item_id)
    if item is None:
        return False, [], f"the EU AI Act checklist item {item_id} was not evaluated"
    if item["status"] in MET_BY_PERSON:
        return True, list(item["evidence"]), ""
    requirement = item["requirement"].rstrip(".")
    return False, list(item["evidence"]), f"a person's answer to {item_id} ({item['reason']}): {requirement}"


def _part(card: dict, part: dict) -> dict:
    if "check" in part:
        met, pointers, missing = CHECKS[part["check"]](card)
        decided = "evidence"
    else:
        met, pointers, missing = _attested_part(card, part["attested_by"])
        decided = "attestation"
    return {
        "id": part["id"],
        "covers": part["covers"],
        "decided_by": decided,
        "rule": part.get("check") or part.get("attested_by"),
        "met": met,
        "evidence": pointers,
        "missing": "" if met else missing,
    }


def section_status(parts: list[dict]) -> str:
    if not all(part["met"] for part in parts):
        return OPEN
    return ATTESTED if any(part["decided_by"] == "attestation" for part in parts) else FILLED


def _section(card: dict, section: dict) -> dict:
    parts = [_part(card, part) for part in section["parts"]]
    return {
        "point": section["point"],
        "title": section["title"],
        "paraphrase": section["paraphrase"],
        "source": section["source"],
        "status": section_status(parts),
        "parts": parts,
    }


def completeness(sections: list[dict]) -> dict:
    parts = [part for section in sections for part in section["parts"]]
    done = sum(1 for section in sections if section["status"] != OPEN)
    return {
        "sections_complete": done,
        "sections": len(sections),
        "percent": round(100 * done / len(sections)) if sections else 0,
        "parts_met": sum(1 for part in parts if part["met"]),
        "parts": len(parts),
        "by_status": {status: sum(1 for s in sections if s["status"] == status) for status in (FILLED, ATTESTED, OPEN)},
    }


def _pointer_kind(pointer: dict) -> str:
    if pointer.get("kind") == "evidence_job":
        return pointer.get("job_kind") or "evidence_job"
    return {"model_version": "model_record", "checkpoint": "audit_event"}.get(pointer.get("kind"), pointer.get("kind"))


def crosswalk_rows(card: dict, sections: list[dict]) -> list[dict]:
    """Each kind of evidence of the cross-walk with the pointers of this version that are of that kind."""
    found: dict[str, list[dict]] = {}
    for section in sections:
        for part in section["parts"]:
            for pointer in part["evidence"]:
                kind = _pointer_kind(pointer)
                if pointer not in found.setdefault(kind, []):
                    found[kind].append(pointer)
    signature = card["model_details"].get("signature")
    if signature:
        found.setdefault("model_signature", []).append(signature["evidence"])
    for request in card.get("approvals") or []:
        found.setdefault("approval", []).append({"kind": "approval_request", "id": request["id"]})
    for window in (card.get("monitoring") or {}).get("windows") or []:
        pointer = window["evidence"]
        if pointer not in found.setdefault("production_window", []):
            found["production_window"].append(pointer)
    return [{**entry, "pointers": found.get(entry["kind"], [])} for entry in crosswalk_load()["evidence"]]


def annex_iv_document(card: dict) -> dict:
    """The Annex IV document: the EU AI Act card it was assembled from, its sections and the cross-walk."""
    definition, crosswalk = annex_load(), crosswalk_load()
    sections = [_section(card, section) for section in definition["sections"]]
    return {
        **card,
        "schema": SCHEMA,
        "scope": SCOPE,
        "annex_iv": {
            "version": definition["version"],
            "source": definition["source"],
            "sections": sections,
            "completeness": completeness(sections),
        },
        "crosswalk": {
            "version": crosswalk["version"],
            "source": crosswalk["source"],
            "rows": crosswalk_rows(card, sections),
        },
    }

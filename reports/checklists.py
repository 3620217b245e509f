"""Framework checklists evaluated for one model version: the contract the model-card renderer relies on.

Automatic items are decided by the rules in reports/checks.py on facts gathered by reports/facts.py;
human items by their current attestation. Facts are gathered once per call, so one evaluation sees
one consistent state of the evidence and the trail.
"""

import copy
from dataclasses import asdict, dataclass

from django.utils import timezone

from reports import frameworks
from reports.checks import STATUSES, item_decision
from reports.facts import version_facts


@dataclass(frozen=True)
class ItemResult:
    framework: str
    item_id: str
    requirement: str
    source: str
    evidence_needed: str
    decided_by: str
    status: str
    reason: str
    evidence: tuple[dict, ...]

    def to_dict(self) -> dict:
        return {**asdict(self), "evidence": [dict(pointer) for pointer in self.evidence]}


def applicable_frameworks(model) -> list[str]:
    return frameworks.frameworks_applicable(declared=model.frameworks, data_classification=model.data_classification)


def framework_definition(framework: str) -> dict:
    return copy.deepcopy(frameworks.framework_load(framework))


def _result(framework: str, item: dict, facts: dict) -> ItemResult:
    decision = item_decision(item, facts, framework)
    return ItemResult(
        framework=framework,
        item_id=item["id"],
        requirement=item["requirement"],
        source=item["source"],
        evidence_needed=item["evidence"],
        decided_by=item["decided_by"],
        status=decision.status,
        reason=decision.reason,
        evidence=tuple(decision.evidence),
    )


def checklist_evaluate(version, framework: str, *, now=None, facts: dict | None = None) -> list[ItemResult]:
    """Every item of the framework, in the file's order. Pass facts to share one gathering between frameworks."""
    definition = frameworks.framework_load(framework)
    facts = facts or version_facts(version, now=now or timezone.now())
    return [_result(framework, item, facts) for item in definition["items"]]


def checklists_evaluate(version, *, now=None) -> dict[str, list[ItemResult]]:
    """Every framework that applies to the version's model, evaluated on one gathering of the facts."""
    facts = version_facts(version, now=now or timezone.now())
    return {fw: checklist_evaluate(version, fw, facts=facts) for fw in applicable_frameworks(version.model)}


def checklist_summary(results) -> dict:
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return counts

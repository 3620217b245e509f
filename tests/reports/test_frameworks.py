"""The framework files: each loads and validates; a broken one is refused naming the item and the field."""

import pytest

from reports.checks import RULES
from reports.frameworks import FRAMEWORK_DIR, FRAMEWORK_IDS, FrameworkInvalid, framework_load, framework_parse
from reports.frameworks import frameworks_applicable as applicable

GOOD = """
id: gdpr
title: Test
version: "2026.1"
applies_when: {declared: GDPR, data_classification: [special_category]}
items:
  - id: GDPR-9-1
    requirement: Sensitive inputs are flagged.
    source: GDPR Art. 9(1)
    evidence: The dataset's declared sensitive features.
    decided_by: automatic
    rule: sensitive_inputs_flagged
  - id: GDPR-22-3
    requirement: People can contest a decision.
    source: GDPR Art. 22(3)
    evidence: The contest process.
    decided_by: human
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(FrameworkInvalid) as caught:
        framework_parse(text, name="gdpr")
    return caught.value.problems


@pytest.mark.parametrize("framework", FRAMEWORK_IDS)
def test_every_framework_file_loads_with_known_rules(framework):
    definition = framework_load(framework)
    assert definition["id"] == framework
    assert 8 <= len(definition["items"]) <= 16
    deciders = {item["decided_by"] for item in definition["items"]}
    assert deciders == {"automatic", "human"}
    for item in definition["items"]:
        assert item.get("rule") in RULES if item["decided_by"] == "automatic" else "rule" not in item


def test_the_files_on_disk_are_exactly_the_known_frameworks():
    assert sorted(path.stem for path in FRAMEWORK_DIR.glob("*.yaml")) == sorted(FRAMEWORK_IDS)


def test_a_good_file_parses():
    assert [item["id"] for item in framework_parse(GOOD, name="gdpr")["items"]] == ["GDPR-9-1", "GDPR-22-3"]


def test_an_unknown_rule_names_the_item_and_the_field():
    problems = _problems(GOOD.replace("rule: sensitive_inputs_flagged", "rule: looks_fine_to_me"))
    assert len(problems) == 1
    assert problems[0].startswith("item GDPR-9-1: rule: unknown rule 'looks_fine_to_me'")


def test_every_problem_is_reported_at_once():
    broken = (
        GOOD.replace('version: "2026.1"', "version: 2026.1")
        .replace("    decided_by: human", "    decided_by: committee")
        .replace("    source: GDPR Art. 9(1)\n", "")
    )
    problems = _problems(broken)
    assert 'version: must be quoted text of at most 20 characters, e.g. "2026.1"' in problems
    assert "item GDPR-22-3: decided_by: must be automatic or human" in problems
    assert "item GDPR-9-1: source: required" in problems


def test_a_human_item_may_not_name_a_rule_and_an_automatic_one_must():
    human_rule = GOOD.replace("    decided_by: human", "    decided_by: human\n    rule: trail_verified")
    assert _problems(human_rule) == ["item GDPR-22-3: rule: a human item is decided by an attestation, not a rule"]
    no_rule = GOOD.replace("    rule: sensitive_inputs_flagged\n", "")
    assert _problems(no_rule) == ["item GDPR-9-1: rule: required for an automatic item"]


def test_ids_are_unique_and_well_formed_and_the_file_is_named_by_its_id():
    assert "item GDPR-9-1: id: used more than once" in _problems(GOOD.replace("id: GDPR-22-3", "id: GDPR-9-1"))
    bad_id = _problems(GOOD.replace("id: GDPR-22-3", "id: gdpr 22"))
    assert bad_id == ["item gdpr 22: id: uppercase words joined by hyphens, at most 40 characters"]
    assert _problems(GOOD.replace("id: gdpr", "id: ccpa")) == ["id: must be 'gdpr', the file's name"]


def test_applies_when_is_checked_against_the_registry_vocabulary():
    problems = _problems(GOOD.replace("declared: GDPR", "declared: PIPEDA"))
    assert problems == ["applies_when.declared: must be one of GDPR, CCPA, HIPAA, EU_AI_ACT"]


def test_unreadable_yaml_is_refused():
    assert _problems("id: [gdpr")[0].startswith("not valid YAML")
    assert _problems("- just\n- a list\n") == [
        "the file must hold a mapping with id, title, version, applies_when, items"
    ]


@pytest.mark.parametrize(
    ("declared", "classes", "expected"),
    [
        (["GDPR"], ["personal_data"], ["gdpr"]),
        ([], ["special_category"], ["gdpr"]),
        ([], ["phi"], ["hipaa"]),
        (["CCPA", "EU_AI_ACT"], ["phi"], ["ccpa", "hipaa", "eu_ai_act"]),
        ([], ["personal_data"], []),
    ],
)
def test_frameworks_apply_when_declared_or_implied_by_the_data(declared, classes, expected):
    assert applicable(declared=declared, data_classification=classes) == expected

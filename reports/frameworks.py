"""The framework checklists, kept as versioned YAML in reports/frameworks/, loaded once and validated.

A file that breaks a rule below is refused as a whole with every problem named by item and field, so
a checklist is never evaluated half-read. Which frameworks apply to a model is decided here too.
"""

import re
from functools import lru_cache
from pathlib import Path

import yaml

from registry.models import DATA_CLASSES, FRAMEWORKS
from reports.checks import RULES

FRAMEWORK_IDS = ("gdpr", "ccpa", "hipaa", "eu_ai_act")
FRAMEWORK_DIR = Path(__file__).resolve().parent / "frameworks"
DECIDERS = ("automatic", "human")
TOP_FIELDS = ("id", "title", "version", "applies_when", "items")
ITEM_FIELDS = ("id", "requirement", "source", "evidence", "decided_by")
ITEM_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
ITEM_ID_MAX, VERSION_MAX, REQUIREMENT_MAX = 40, 20, 300


class FrameworkInvalid(ValueError):
    def __init__(self, name: str, problems: list[str]):
        super().__init__(f"{name}: " + "; ".join(problems))
        self.problems = problems


def _text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _top_problems(data: dict, name: str) -> list[str]:
    problems = [f"{key}: unknown field" for key in data if key not in TOP_FIELDS]
    problems += [f"{key}: required" for key in TOP_FIELDS if key not in data]
    if "id" in data and data["id"] != name:
        problems.append(f"id: must be {name!r}, the file's name")
    if "title" in data and not _text(data["title"]):
        problems.append("title: must be non-empty text")
    version = data.get("version")
    if "version" in data and not (_text(version) and len(version) <= VERSION_MAX):
        problems.append(f'version: must be quoted text of at most {VERSION_MAX} characters, e.g. "2026.1"')
    return problems


def _applies_problems(rule) -> list[str]:
    if not isinstance(rule, dict):
        return ["applies_when: must map declared and data_classification"]
    problems = [f"applies_when.{key}: unknown field" for key in rule if key not in ("declared", "data_classification")]
    if rule.get("declared") not in FRAMEWORKS:
        problems.append(f"applies_when.declared: must be one of {', '.join(FRAMEWORKS)}")
    classes = rule.get("data_classification", [])
    if not isinstance(classes, list) or any(c not in DATA_CLASSES for c in classes):
        problems.append(f"applies_when.data_classification: must list values of {', '.join(DATA_CLASSES)}")
    return problems


def _item_problems(item, index: int) -> list[str]:
    if not isinstance(item, dict):
        return [f"item {index + 1}: must be a mapping"]
    label = f"item {item['id']}" if _text(item.get("id")) else f"item {index + 1}"
    problems = [f"{key}: unknown field" for key in item if key not in (*ITEM_FIELDS, "rule")]
    problems += [f"{key}: required" for key in ITEM_FIELDS if not _text(item.get(key))]
    if _text(item.get("id")) and not (ITEM_ID.match(item["id"]) and len(item["id"]) <= ITEM_ID_MAX):
        problems.append(f"id: uppercase words joined by hyphens, at most {ITEM_ID_MAX} characters")
    requirement = item.get("requirement")
    if _text(requirement) and ("\n" in requirement.strip() or len(requirement) > REQUIREMENT_MAX):
        problems.append(f"requirement: one line of at most {REQUIREMENT_MAX} characters")
    problems += _decider_problems(item)
    return [f"{label}: {problem}" for problem in problems]


def _decider_problems(item: dict) -> list[str]:
    decided_by, name = item.get("decided_by"), item.get("rule")
    if _text(decided_by) and decided_by not in DECIDERS:
        return ["decided_by: must be automatic or human"]
    if decided_by == "automatic" and name is None:
        return ["rule: required for an automatic item"]
    if decided_by == "automatic" and name not in RULES:
        return [f"rule: unknown rule {name!r}; known: {', '.join(sorted(RULES))}"]
    if decided_by == "human" and name is not None:
        return ["rule: a human item is decided by an attestation, not a rule"]
    return []


def _items_problems(items) -> list[str]:
    if not isinstance(items, list) or not items:
        return ["items: must list at least one item"]
    problems = [problem for index, item in enumerate(items) for problem in _item_problems(item, index)]
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    problems += [f"item {i}: id: used more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems


def framework_validate(data, *, name: str) -> dict:
    """Returns the framework unchanged, or raises FrameworkInvalid naming every problem."""
    if not isinstance(data, dict):
        raise FrameworkInvalid(name, ["the file must hold a mapping with id, title, version, applies_when, items"])
    problems = _top_problems(data, name)
    if "applies_when" in data:
        problems += _applies_problems(data["applies_when"])
    if "items" in data:
        problems += _items_problems(data["items"])
    if problems:
        raise FrameworkInvalid(name, problems)
    return data


def framework_parse(text: str, *, name: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FrameworkInvalid(name, [f"not valid YAML: {exc}"]) from exc
    return framework_validate(data, name=name)


@lru_cache(maxsize=len(FRAMEWORK_IDS))
def framework_load(framework: str) -> dict:
    """The parsed framework file; callers must not change what it returns (it is shared)."""
    if framework not in FRAMEWORK_IDS:
        raise KeyError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORK_IDS)}")
    path = FRAMEWORK_DIR / f"{framework}.yaml"
    return framework_parse(path.read_text(encoding="utf-8"), name=framework)


def framework_item(framework: str, item_id: str) -> dict | None:
    return next((item for item in framework_load(framework)["items"] if item["id"] == item_id), None)


def frameworks_applicable(*, declared, data_classification) -> list[str]:
    """Declared on the model, or implied by its data classification as the framework file says."""
    found = []
    for framework in FRAMEWORK_IDS:
        rule = framework_load(framework)["applies_when"]
        implied = set(rule.get("data_classification", [])) & set(data_classification or [])
        if rule["declared"] in (declared or []) or implied:
            found.append(framework)
    return found

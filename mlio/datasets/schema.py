"""The declared schema of a dataset (``DatasetSchema``) and the checks on the declaration itself.
Django-free."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .common import Label, _json_scalar, _Problems

Task = Literal["binary_classification", "regression"]
TASKS: tuple[str, ...] = ("binary_classification", "regression")
SCHEMA_FIELDS = ("features", "target", "positive_label", "task", "sensitive_features", "prediction", "score")
_ROLE_ORDER = ("target", "prediction", "score", "sensitive", "feature")


@dataclass(kw_only=True)
class DatasetSchema:
    features: list[str]
    target: str | None = None
    positive_label: Label | None = None
    task: Task
    sensitive_features: list[str] = field(default_factory=list)
    prediction: str | None = None
    score: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSchema:
        problems = _schema_problems(data)
        problems.raise_if_any()
        return cls(
            features=list(data["features"]),
            target=data.get("target"),
            positive_label=data.get("positive_label"),
            task=data["task"],
            sensitive_features=list(data.get("sensitive_features") or []),
            prediction=data.get("prediction"),
            score=data.get("score"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "target": self.target,
            "positive_label": _json_scalar(self.positive_label),
            "task": self.task,
            "sensitive_features": list(self.sensitive_features),
            "prediction": self.prediction,
            "score": self.score,
        }

    def roles(self) -> dict[str, list[str]]:
        """Declared column -> its roles, most specific first (a sensitive feature may also be a feature)."""
        roles: dict[str, list[str]] = defaultdict(list)
        for role, name in (("target", self.target), ("prediction", self.prediction), ("score", self.score)):
            if name is not None:
                roles[name].append(role)
        for name in self.features:
            roles[name].append("feature")
        for name in self.sensitive_features:
            roles[name].append("sensitive")
        return {name: sorted(set(rs), key=_ROLE_ORDER.index) for name, rs in roles.items()}


def _schema_problems(data: Any) -> _Problems:
    problems = _Problems()
    if not isinstance(data, Mapping):
        problems.add("schema", "must be an object with features, task and the other schema fields")
        return problems
    for key in sorted(set(data) - set(SCHEMA_FIELDS), key=str):
        problems.add(f"schema.{key}", "unknown field")
    task = data.get("task")
    if task not in TASKS:
        problems.add("schema.task", "must be binary_classification or regression")
    features = _declared_list(data, "features", problems, required=True)
    sensitive = _declared_list(data, "sensitive_features", problems, required=False)
    single = {role: _declared_name(data, role, problems) for role in ("target", "prediction", "score")}
    _check_role_overlaps(features, sensitive, single, problems)
    _check_positive_label(data.get("positive_label"), task, single, problems)
    if task == "regression" and single["score"] is not None:
        problems.add("schema.score", "only applies to binary_classification (a predicted probability)")
    return problems


def _declared_list(data: Mapping[str, Any], key: str, problems: _Problems, *, required: bool) -> list[str]:
    value = data.get(key)
    if value is None or value == []:
        if required:
            problems.add(f"schema.{key}", "must list at least one column")
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.add(f"schema.{key}", "must be a list of column names")
        return []
    names = [name for name in value if isinstance(name, str) and name]
    if len(names) != len(value):
        problems.add(f"schema.{key}", "column names must be non-empty strings")
    for name, count in Counter(names).items():
        if count > 1:
            problems.add(f"schema.{key}", f"lists '{name}' {count} times")
    return names


def _declared_name(data: Mapping[str, Any], key: str, problems: _Problems) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and value):
        return value
    problems.add(f"schema.{key}", "must be a column name (a non-empty string) or null")
    return None


def _check_role_overlaps(
    features: list[str], sensitive: list[str], single: dict[str, str | None], problems: _Problems
) -> None:
    # A sensitive feature may also be a model input; an outcome column may not.
    for role, name in single.items():
        if name is not None and name in features:
            problems.add(f"schema.{role}", f"'{name}' is also listed among the features")
        if name is not None and name in sensitive:
            problems.add("schema.sensitive_features", f"'{name}' is declared as the {role}")
    target, prediction, score = single["target"], single["prediction"], single["score"]
    if prediction is not None and prediction == target:
        problems.add("schema.prediction", "is the same column as the target")
    if score is not None and score in (target, prediction):
        problems.add("schema.score", "must be its own column, not the target or the prediction")


def _check_positive_label(label: Any, task: Any, single: dict[str, str | None], problems: _Problems) -> None:
    if label is not None and not _valid_label(label):
        problems.add("schema.positive_label", "must be a string, number or boolean")
        return
    has_outcome = single["target"] is not None or single["prediction"] is not None
    if task == "binary_classification" and has_outcome and label is None:
        problems.add(
            "schema.positive_label", "is required for binary_classification when a target or prediction is declared"
        )
    if task == "regression" and label is not None:
        problems.add("schema.positive_label", "only applies to binary_classification")


def _valid_label(label: Any) -> bool:
    if isinstance(label, str):
        return label != ""
    if isinstance(label, bool | int):
        return True
    return isinstance(label, float) and math.isfinite(label)

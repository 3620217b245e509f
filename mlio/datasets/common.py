"""Shared by the dataset modules: the label type, ``DatasetInvalid`` and the problem collector, and the
formatting of values for messages and JSON. Django-free."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

Label = str | int | float | bool
VALUES_SHOWN = 5  # values quoted in a problem message


class DatasetInvalid(Exception):
    """An upload or declaration that cannot be accepted; ``problems`` maps a field path to messages."""

    def __init__(self, problems: Mapping[str, Iterable[str]]):
        self.problems: dict[str, list[str]] = {key: list(msgs) for key, msgs in problems.items() if msgs}
        if not self.problems:
            raise ValueError("DatasetInvalid needs at least one problem")
        key, messages = next(iter(self.problems.items()))
        self.message = f"{key}: {messages[0]}"
        super().__init__(self.message)


class _Problems:
    """Collects problems so that one upload reports all of them, not just the first."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        messages = self.by_field.setdefault(key, [])
        if message not in messages:  # a column with two roles may fail the same check twice
            messages.append(message)

    def column(self, name: str, message: str) -> None:
        self.add(f"columns.{name}", message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise DatasetInvalid(self.by_field)


def _json_scalar(value: Any) -> Any:
    """numpy scalars to Python ones; NaN and infinities to None (JSON has neither)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _preview(values: Any) -> str:
    items = [_json_scalar(value) for value in values]
    with contextlib.suppress(TypeError):  # mixed types keep the file's order
        items = sorted(items)
    shown = ", ".join(repr(item) for item in items[:VALUES_SHOWN])
    return shown + (", …" if len(items) > VALUES_SHOWN else "")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return _count(n, "byte")

"""Interleaved rounds: every side runs once per round, one after the other, and ratios are taken per round.

On a shared machine a burst of other work slows whatever runs during it; running the sides back to back in
each round puts both under the same burst, and the spread of per-round ratios (min and median) shows how
much the bursts moved them. Every benchmark in bench/ reports its comparisons through ``ratio_line``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rounds:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def median(self, side: str) -> float:
        return statistics.median(self.seconds[side])

    def best(self, side: str) -> float:
        return min(self.seconds[side])

    def ratios(self, slower: str, faster: str) -> list[float]:
        """slower's time over faster's, per round: how many times faster ``faster`` was in each round."""
        return [s / f for s, f in zip(self.seconds[slower], self.seconds[faster], strict=True)]

    def ratio_line(self, slower: str, faster: str) -> str:
        ratios = self.ratios(slower, faster)
        return (
            f"{slower} / {faster}: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x "
            f"over {len(ratios)} rounds"
        )


def interleaved(sides: Mapping[str, Callable[[], Any]], rounds: int, warm: bool = True) -> Rounds:
    """Times each side once per round, in the order given, ``rounds`` times; keeps each side's last value.

    ``warm`` runs every side once first, untimed (imports, caches, compiled kernels)."""
    result = Rounds({name: [] for name in sides})
    if warm:
        for name, run in sides.items():
            result.values[name] = run()
    for _ in range(rounds):
        for name, run in sides.items():
            began = time.perf_counter()
            result.values[name] = run()
            result.seconds[name].append(time.perf_counter() - began)
    return result

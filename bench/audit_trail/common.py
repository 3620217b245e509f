"""Shared pieces of the audit trail benchmark: goals, constants, the figures' dataclasses, progress and profiling."""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from audits.ledger.verify import VerifyResult

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
GOAL_RATIO, GOAL_WRITERS = 0.5, 8
GOAL_EVENTS, GOAL_SECONDS = 1_000_000, 5.0
# Memory counts as flat when the largest chain needs at most 25 % + 8 MiB more than the smallest:
# allocator and page-cache noise alone moves max RSS by a few MiB between runs.
FLAT_RATIO, FLAT_SLACK = 1.25, 8 * 2**20
ACTOR = "service:bench"
ACTIONS = ("registry.version.submitted", "registry.version.approved", "reports.evidence.attached")
COPY_SQL = "COPY audits_auditevent (seq, ts, actor, action, object_ref, prev, hash, body) FROM STDIN"
PROFILE_LINES = 14
# The limit: a per-record SHA-256 loop over the same stored bytes, each digest compared with its stored hash.
SHA256_LIMIT = "SHA-256 limit"
VERIFY_PATHS = (SHA256_LIMIT, "database", "memory, stdlib", "memory, orjson", "export file")

Row = tuple[int, datetime, str, str, str, str, str, bytes]
Append = Callable[[int, int], None]


@dataclass
class AppendFigures:
    writers: int
    events: int
    rounds: list[tuple[float, float]]  # (plain, chained) appends/s, measured back to back

    @property
    def plain_per_s(self) -> float:
        return statistics.median(plain for plain, _ in self.rounds)

    @property
    def chained_per_s(self) -> float:
        return statistics.median(chained for _, chained in self.rounds)

    @property
    def ratios(self) -> list[float]:
        # Paired per round: load from elsewhere on the machine comes in bursts that hit both alike.
        return [chained / plain for plain, chained in self.rounds]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


@dataclass
class VerifyFigures:
    size: int
    load_s: float
    export_s: float
    seconds: dict[str, float]  # keyed by VERIFY_PATHS
    # Per path, the fraction of the SHA-256 limit it reached: (min, median) over the rounds, each round's
    # paths run back to back.
    of_limit: dict[str, tuple[float, float]]


@dataclass
class MemoryFigures:
    size: int
    path: str
    rss_before: int  # bytes resident just before verifying
    rss_peak: int  # bytes, peak resident size while verifying
    peak_reset: bool  # False: rss_peak may include start-up, an upper bound
    traced_peak: int  # bytes, Python heap peak while verifying

    @property
    def rss_growth(self) -> int:
        return self.rss_peak - self.rss_before


@dataclass
class Report:
    machine: dict[str, str]
    appends: list[AppendFigures]
    chain_after_appends: VerifyResult | None
    verifies: list[VerifyFigures]
    memory: list[MemoryFigures]
    profiles: list[tuple[str, str]]


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _profile(fn: Callable[[], Any], order: str = "tottime", lines: int = PROFILE_LINES) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(lines)
    return out.getvalue().strip()

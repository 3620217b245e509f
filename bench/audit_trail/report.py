"""The audit trail benchmark's printed report: tables of figures and the goals, met or not."""

from __future__ import annotations

from collections.abc import Sequence

from audits.ledger.verify import VerifyResult

from .common import (
    FLAT_RATIO,
    FLAT_SLACK,
    GOAL_EVENTS,
    GOAL_RATIO,
    GOAL_SECONDS,
    GOAL_WRITERS,
    SHA256_LIMIT,
    VERIFY_PATHS,
    AppendFigures,
    MemoryFigures,
    Report,
    VerifyFigures,
)
from .verification import _projected_seconds

# Report ------------------------------------------------------------------------------------------


def _print_report(report: Report, repeat: int) -> None:
    machine = ", ".join(f"{k} {v}" for k, v in report.machine.items())
    print(f"Audit trail benchmark ({machine})\n")
    if report.appends:
        _print_appends(report.appends, report.chain_after_appends, repeat)
    if report.verifies:
        _print_verifies(report.verifies, repeat)
        _print_memory(report.memory)
    _print_goals(report)
    if report.profiles:
        print("\ncProfile entries follow for each path that misses its goal (all of them with --profile).")
    for title, text in report.profiles:
        print(f"\n{title}\n{text}")


def _print_table(header: Sequence[str], rows: list[Sequence[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in [header, *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    print()


def _print_appends(figures: list[AppendFigures], chain: VerifyResult | None, repeat: int) -> None:
    print(f"1. Appends/s, median of {repeat} rounds of {figures[0].events} appends each, one transaction per append;")
    print("   chained/plain is the median of the rounds' ratios (plain and chained run back to back)")
    rows = [
        [
            str(f.writers),
            f"{f.plain_per_s:,.0f}",
            f"{f.chained_per_s:,.0f}",
            f"{f.ratio:.2f}x",
            f"{min(f.ratios):.2f}-{max(f.ratios):.2f}",
        ]
        for f in figures
    ]
    _print_table(["writers", "plain INSERT/s", "chained append/s", "chained/plain", "range"], rows)
    if chain is not None:
        appended = len(figures) * repeat * figures[0].events
        linear = chain.ok and chain.size == appended
        state = "OK" if chain.ok else f"FAILED at seq {chain.bad_seq}: {chain.reason}"
        print(f"chain after the chained runs: {state}, {chain.size:,} events verified of {appended:,} appended")
        print(f"one linear chain: {'yes' if linear else 'NO'}\n")


def _print_verifies(figures: list[VerifyFigures], repeat: int) -> None:
    print(f"2. Verification, events/s (seconds), median of {repeat} runs; chains made with seal(), loaded with COPY")
    header = ["events", "load", *VERIFY_PATHS, "export write"]
    rows = [
        [
            f"{f.size:,}",
            f"{f.load_s:.1f} s",
            *(f"{f.size / f.seconds[p]:,.0f} ({f.seconds[p]:.2f} s)" for p in VERIFY_PATHS),
            f"{f.export_s:.2f} s",
        ]
        for f in figures
    ]
    _print_table(header, rows)
    print(f"   fraction of the {SHA256_LIMIT} (a per-record SHA-256 loop over the same bytes), per round: min, median")
    rows = [
        [f"{f.size:,}", *(f"{f.of_limit[p][0]:.2f}, {f.of_limit[p][1]:.2f}" for p in VERIFY_PATHS)] for f in figures
    ]
    _print_table(["events", *VERIFY_PATHS], rows)


def _print_memory(figures: list[MemoryFigures]) -> None:
    print("3. Verification memory, each figure from a fresh process (RSS from /proc/self/status)")
    rows = [
        [
            f"{f.size:,}",
            f.path,
            _mib(f.rss_before),
            _mib(f.rss_peak) + ("" if f.peak_reset else " (upper bound: includes start-up)"),
            _mib(f.rss_growth),
            _mib(f.traced_peak),
        ]
        for f in figures
    ]
    _print_table(["events", "path", "RSS before", "peak RSS", "growth", "tracemalloc peak"], rows)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size / 2**10:.0f} KiB"


def _print_goals(report: Report) -> None:
    print("Goals")
    for line in [*_append_goal(report.appends), *_verify_goals(report.verifies), *_memory_goals(report.memory)]:
        print(f"  {line}")


def _verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


def _append_goal(figures: list[AppendFigures]) -> list[str]:
    at_goal = [f for f in figures if f.writers == GOAL_WRITERS]
    if not at_goal:
        return [f"chained >= {GOAL_RATIO}x plain at {GOAL_WRITERS} writers: not measured (--writers)"]
    ratio = at_goal[0].ratio
    return [f"chained >= {GOAL_RATIO}x plain at {GOAL_WRITERS} writers: {ratio:.2f}x, {_verdict(ratio >= GOAL_RATIO)}"]


def _verify_goals(figures: list[VerifyFigures]) -> list[str]:
    if not figures:
        return []
    largest = figures[-1]
    projected = "" if largest.size == GOAL_EVENTS else f" (projected from {largest.size:,})"
    lines = []
    for path in VERIFY_PATHS[1:]:
        seconds = _projected_seconds(largest, path)
        lines.append(
            f"{GOAL_EVENTS:,} events verified in < {GOAL_SECONDS:g} s, {path}: "
            f"{seconds:.2f} s{projected}, {_verdict(seconds < GOAL_SECONDS)}"
        )
    return lines


def _memory_goals(figures: list[MemoryFigures]) -> list[str]:
    lines = []
    for path in ("database", "export file"):
        mine = [f for f in figures if f.path == path]
        if len(mine) < 2:
            continue
        small, large = mine[0], mine[-1]
        flat = all(
            b <= a * FLAT_RATIO + FLAT_SLACK
            for a, b in ((small.rss_growth, large.rss_growth), (small.traced_peak, large.traced_peak))
        )
        lines.append(
            f"verification memory flat from {small.size:,} to {large.size:,} events, {path}: "
            f"RSS +{_mib(small.rss_growth)} -> +{_mib(large.rss_growth)}, "
            f"tracemalloc {_mib(small.traced_peak)} -> {_mib(large.traced_peak)}, {_verdict(flat)}"
        )
    return lines

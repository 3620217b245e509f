"""Part 2 of the audit trail benchmark: verification speed of generated chains, by path."""

from __future__ import annotations

import hashlib
import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import connection

from audits.ledger.hashing import GENESIS_PREV, seal
from audits.ledger.verify import ChainVerifier, VerifyResult, parse_json, verify_lines

from .appends import _event_data
from .common import (
    ACTIONS,
    ACTOR,
    COPY_SQL,
    GOAL_EVENTS,
    GOAL_SECONDS,
    SHA256_LIMIT,
    Row,
    VerifyFigures,
    _profile,
    _progress,
)

# 2. Verification speed ---------------------------------------------------------------------------


def _generated_chain(count: int) -> Iterator[Row]:
    prev, start = GENESIS_PREV, datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, count + 1):
        ts, action, ref = start + timedelta(milliseconds=seq), ACTIONS[seq % 3], f"registry.modelversion:{seq % 5000}"
        sealed = seal(seq=seq, ts=ts, actor=ACTOR, action=action, object=ref, data=_event_data(0, seq), prev=prev)
        yield seq, ts, ACTOR, action, ref, prev, sealed.hash, sealed.body
        prev = sealed.hash


def _empty_trail() -> None:
    with connection.cursor() as cursor:
        # The append-only trigger refuses TRUNCATE; ordinary triggers sleep in replica mode (superuser only).
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute("TRUNCATE audits_auditevent, audits_checkpoint")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def _load(rows: Iterator[Row], count: int, in_memory: list[tuple[bytes, str]]) -> None:
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
        for row in itertools.islice(rows, count):
            copy.write_row(row)
            in_memory.append((row[7], row[6]))
    with connection.cursor() as cursor:
        # Like a table that has been in service a while: hint bits set, statistics current.
        cursor.execute("VACUUM (ANALYZE) audits_auditevent")


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    value = fn()
    return time.perf_counter() - began, value


def _verify_timings(
    size: int, load_s: float, in_memory: list[tuple[bytes, str]], trail: Path, repeat: int
) -> VerifyFigures:
    export_s = _timed(lambda: _export(trail))[0]
    runs = _verify_runs(in_memory, trail)
    _progress(f"verifying {size} events, {repeat} rounds of: {', '.join(runs)}")
    rounds = [[_checked(size, *_timed(run)) for run in runs.values()] for _ in range(repeat)]
    seconds = {path: statistics.median(times) for path, times in zip(runs, zip(*rounds, strict=True), strict=True)}
    limit = list(runs).index(SHA256_LIMIT)
    fractions = {path: [r[limit] / r[i] for r in rounds] for i, path in enumerate(runs)}
    of_limit = {path: (min(f), statistics.median(f)) for path, f in fractions.items()}
    return VerifyFigures(size, load_s, export_s, seconds, of_limit)


def _verify_runs(in_memory: list[tuple[bytes, str]], trail: Path) -> dict[str, Callable[[], VerifyResult]]:
    """The verification paths, keyed as in VERIFY_PATHS."""
    from audits.ledger.fastjson import parse_record
    from audits.selectors import audit_trail_verify

    return {
        SHA256_LIMIT: lambda: _sha256_limit(in_memory),
        "database": audit_trail_verify,
        "memory, stdlib": lambda: _verify_in_memory(in_memory),
        "memory, orjson": lambda: _verify_in_memory(in_memory, parse_record),
        "export file": lambda: _verify_file(trail),
    }


def _sha256_limit(records: list[tuple[bytes, str]]) -> VerifyResult:
    """Hashing alone: what no verifier of the stored bytes can beat."""
    sha256, head = hashlib.sha256, GENESIS_PREV
    for body, claimed in records:
        if sha256(body).hexdigest() != claimed:
            return VerifyResult(False, 0, head)
        head = claimed
    return VerifyResult(True, len(records), head)


def _checked(size: int, seconds: float, result: VerifyResult) -> float:
    if not result.ok or result.size != size:
        raise RuntimeError(f"a generated chain of {size} events failed verification: {result}")
    return seconds


def _verify_in_memory(records: list[tuple[bytes, str]], parse: Callable[[bytes], Any] = parse_json) -> VerifyResult:
    verifier = ChainVerifier(parse=parse)
    verifier.feed_many(records)
    return verifier.result()


def _export(trail: Path) -> None:
    from audits.selectors import export_lines

    with trail.open("wb") as out:
        out.writelines(export_lines())


def _verify_file(trail: Path) -> VerifyResult:
    with trail.open("rb") as lines:
        return verify_lines(lines)


def _projected_seconds(figures: VerifyFigures, path: str) -> float:
    return figures.seconds[path] * GOAL_EVENTS / figures.size


def _verify_profiles(
    figures: VerifyFigures, in_memory: list[tuple[bytes, str]], trail: Path, always: bool
) -> list[tuple[str, str]]:
    """Profiles, at the smallest size, each path whose rate would miss the goal at 1M events."""
    return [
        (f"cProfile: verify {figures.size} events, {path}", _profile(run))
        for path, run in _verify_runs(in_memory, trail).items()
        if path != SHA256_LIMIT and (always or _projected_seconds(figures, path) > GOAL_SECONDS)
    ]

"""Audit trail benchmark on PostgreSQL: append throughput, verification speed, verification memory.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_audit SECRET_KEY=bench-only \\
        .venv/bin/python -m bench.audit_trail [--events 1500] [--writers 1,8,32] \\
        [--verify-sizes 100000,1000000] [--repeat 5] [--keep-db] [--profile]

An empty list (--writers "" or --verify-sizes "") skips that part.

The database named in DATABASE_URL must start with "bench": the script creates it when missing,
migrates it, empties its audit trail and drops it at the end (unless --keep-db). The role must be
a PostgreSQL superuser, because loading a generated chain has to get past the trail's append-only
trigger. Without AUDIT_SIGNING_KEY_FILE a throwaway checkpoint key is made for the run.

Every figure comes with a baseline measured in the same run; nothing here asserts a time:
1. appends/s of audit_event_append with 1, 8 and 32 threads, against a plain INSERT of the same
   row shape after the same per-row work (seal), with no lock and no chain;
2. verification of generated chains: from the database (audit_trail_verify, as the service does
   it: orjson, the next batch fetched while this one is checked), from bodies already in memory
   (the verifier alone, once with the standalone verifier's standard-library parser and once with
   the service's), and from an exported JSON Lines file (the standalone verifier);
3. peak memory of verification, each figure from a fresh process, to show whether it grows with N.

Service modules that touch Django models are imported inside functions: this module is loaded
before django.setup().
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .memory import _memory_child
from .run import _run

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.measure_verify_memory:
        return _memory_child(args.measure_verify_memory, Path(args.trail), args.trace)
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as scratch:
        return _run(args, Path(scratch))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_trail", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=_positive, default=1500, help="appends per round, writer count and path")
    parser.add_argument("--writers", type=_positive_list, default=[1, 8, 32], help="comma-separated writer counts")
    parser.add_argument(
        "--writer-kind",
        choices=["process", "thread"],
        default="process",
        help="writers as processes (as gunicorn's and Celery's prefork workers are) or as threads of one process",
    )
    parser.add_argument(
        "--verify-sizes", type=_positive_list, default=[100_000, 1_000_000], help="comma-separated chain lengths"
    )
    parser.add_argument("--repeat", type=_positive, default=5, help="rounds per timing; the median is printed")
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument("--profile", action="store_true", help="print cProfile entries even when goals are met")
    # The memory figures re-invoke this module, one fresh process per figure.
    parser.add_argument("--measure-verify-memory", choices=["database", "export file"], help=argparse.SUPPRESS)
    parser.add_argument("--trail", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_list(text: str) -> list[int]:
    return sorted({_positive(part) for part in text.split(",") if part.strip()})

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
import contextlib
import cProfile
import functools
import io
import itertools
import json
import multiprocessing
import os
import platform
import pstats
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import django
import psycopg
from django.db import connection, connections, transaction
from psycopg import sql

from audits.ledger.hashing import GENESIS_PREV, seal
from audits.ledger.verify import ChainVerifier, VerifyResult, parse_json, verify_lines

REPO_ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO, GOAL_WRITERS = 0.5, 8
GOAL_EVENTS, GOAL_SECONDS = 1_000_000, 5.0
# Memory counts as flat when the largest chain needs at most 25 % + 8 MiB more than the smallest:
# allocator and page-cache noise alone moves max RSS by a few MiB between runs.
FLAT_RATIO, FLAT_SLACK = 1.25, 8 * 2**20
ACTOR = "service:bench"
ACTIONS = ("registry.version.submitted", "registry.version.approved", "reports.evidence.attached")
COPY_SQL = "COPY audits_auditevent (seq, ts, actor, action, object_ref, prev, hash, body) FROM STDIN"
PROFILE_LINES = 14
VERIFY_PATHS = ("database", "memory, stdlib", "memory, orjson", "export file")

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


def _run(args: argparse.Namespace, scratch: Path) -> int:
    throwaway_key = _prepare_environment(scratch)
    django.setup()
    name = _database_name()
    _create_database(name)
    try:
        _migrate(throwaway_key)
        report = _benchmarks(args, scratch)
    finally:
        connections.close_all()
        if args.keep_db:
            print(f"kept database {name}", file=sys.stderr)
        else:
            _drop_database(name)
    _print_report(report, args.repeat)
    return 0


def _prepare_environment(scratch: Path) -> bool:
    """Returns True when this run must create its own checkpoint key."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    if os.environ.get("AUDIT_SIGNING_KEY_FILE"):
        return False
    # Service mode never invents a signing key; the child processes inherit this one.
    os.environ["AUDIT_SIGNING_KEY_FILE"] = str(scratch / "audit_signing_key.pem")
    return True


def _migrate(throwaway_key: bool) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from audits.keys import write_new_key

    call_command("migrate", verbosity=0, interactive=False)
    if throwaway_key:
        write_new_key(settings.AUDIT_SIGNING_KEY_FILE)


# The benchmark database --------------------------------------------------------------------------


def _database_name() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("bench.audit_trail measures PostgreSQL: set DATABASE_URL=postgres://.../bench_audit")
    # The run empties the audit trail and drops the database: never point it at one that matters.
    if not str(db["NAME"]).startswith("bench"):
        raise SystemExit(f"refusing database {db['NAME']!r}: its name must start with 'bench'")
    return str(db["NAME"])


def _admin_connection() -> psycopg.Connection:
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "password": db["PASSWORD"]}
    return psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v})


def _create_database(name: str) -> None:
    with _admin_connection() as admin:
        if not admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            raise SystemExit("bench.audit_trail needs a superuser: it loads chains past the append-only trigger")
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(name: str) -> None:
    with _admin_connection() as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _server_facts() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version'), current_setting('synchronous_commit')")
        version, synchronous_commit = cursor.fetchone()
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "postgresql": version,
        "synchronous_commit": synchronous_commit,
        # Other work on a 2-core machine moves every figure; the load says how quiet it was.
        "load average at start": f"{os.getloadavg()[0]:.2f}",
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    except OSError:
        return platform.processor() or "?"


def _benchmarks(args: argparse.Namespace, scratch: Path) -> Report:
    from audits.selectors import audit_trail_verify

    report = Report(_server_facts(), [], None, [], [], [])
    _progress(" ".join(f"{k}={v}" for k, v in report.machine.items()))
    if args.writers:
        _empty_trail()  # a kept database may hold an earlier run's chain
        report.appends = _append_benchmark(args.writers, args.events, args.repeat, args.writer_kind)
        report.chain_after_appends = audit_trail_verify()
        if args.profile or _append_goal_missed(report.appends):
            report.profiles += _append_profiles(min(args.events, 500))
    if args.verify_sizes:
        verifies, memory, profiles = _verify_benchmark(args.verify_sizes, args.repeat, scratch, args.profile)
        report.verifies, report.memory, report.profiles = verifies, memory, report.profiles + profiles
    return report


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# 1. Append throughput ----------------------------------------------------------------------------


def _event_data(writer: int, n: int) -> dict[str, Any]:
    # Shaped like a service event: a few scalars and the request id the middleware adds.
    return {"status": "approved", "version": n % 50 + 1, "writer": writer, "request_id": f"{writer:08x}{n:024x}"}


def _chained_appender() -> Append:
    from audits.services import audit_event_append

    def append(writer: int, n: int) -> None:
        ref = f"registry.modelversion:{n + 1}"
        audit_event_append(actor=ACTOR, action=ACTIONS[1], object_ref=ref, data=_event_data(writer, n))

    return append


def _plain_appender() -> Append:
    model = _plain_event_model()

    def append(writer: int, n: int) -> None:
        # The chained path's per-row work (seal, ORM insert, own transaction) minus the advisory
        # lock and the head read: a random prev keeps the unique index as busy as a real one.
        prev, now, ref = secrets.token_hex(32), _now(), f"registry.modelversion:{n + 1}"
        with transaction.atomic():
            sealed = seal(
                seq=n + 2, ts=now, actor=ACTOR, action=ACTIONS[1], object=ref, data=_event_data(writer, n), prev=prev
            )
            model.objects.create(
                ts=now, actor=ACTOR, action=ACTIONS[1], object_ref=ref, prev=prev, hash=sealed.hash, body=sealed.body
            )

    return append


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


@functools.cache  # Django warns when a model class is registered twice
def _plain_event_model() -> type:
    from django.db import models

    class PlainEvent(models.Model):
        seq = models.BigAutoField(primary_key=True)
        ts = models.DateTimeField()
        actor = models.CharField(max_length=200)
        action = models.CharField(max_length=100)
        object_ref = models.CharField(max_length=200, blank=True)
        prev = models.CharField(max_length=64)
        hash = models.CharField(max_length=64)
        body = models.BinaryField()

        class Meta:
            # A model needs an installed app's label; unmanaged keeps it out of migrations.
            app_label = "audits"
            db_table = "bench_plain_event"
            managed = False

        def __str__(self) -> str:
            return f"plain #{self.seq}"

    return PlainEvent


def _create_plain_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_event")
        # Same columns, indexes and constraints as the trail; LIKE copies no triggers.
        cursor.execute("CREATE TABLE bench_plain_event (LIKE audits_auditevent INCLUDING ALL)")
        cursor.execute("ALTER TABLE bench_plain_event ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY")


def _append_benchmark(writer_counts: list[int], events: int, repeat: int, kind: str) -> list[AppendFigures]:
    _create_plain_table()
    plain, chained = _plain_appender(), _chained_appender()
    measure = _appends_per_second_processes if kind == "process" else _appends_per_second
    figures = []
    for writers in writer_counts:
        _progress(f"appending {events} events with {writers} writer {kind}es, {repeat} rounds of plain then chained")
        rounds = [(measure(plain, writers, events), measure(chained, writers, events)) for _ in range(repeat)]
        figures.append(AppendFigures(writers, events, rounds))
    return figures


def _appends_per_second(append: Append, writers: int, events: int) -> float:
    """Shares `events` appends among `writers` threads, each with its own Django connection."""
    share, extra = divmod(events, writers)
    counts = [share + (1 if w < extra else 0) for w in range(writers)]
    start = threading.Barrier(writers + 1)
    errors: list[BaseException] = []

    def work(writer: int, count: int) -> None:
        try:
            connection.ensure_connection()  # connecting is not part of an append
            start.wait()
            for n in range(count):
                append(writer, n)
        except BaseException as exc:
            errors.append(exc)
            start.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(w, c)) for w, c in enumerate(counts)]
    for thread in threads:
        thread.start()
    # A writer that fails breaks the barrier; its own error is raised below, after the join.
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return events / elapsed


def _appends_per_second_processes(append: Append, writers: int, events: int) -> float:
    """Shares `events` appends among `writers` forked processes, each with its own connection: the
    service's writers are processes (gunicorn sync workers, Celery prefork), so no interpreter lock
    is shared between them, as it is between threads."""
    share, extra = divmod(events, writers)
    counts = [share + (1 if w < extra else 0) for w in range(writers)]
    context = multiprocessing.get_context("fork")
    start, errors = context.Barrier(writers + 1), context.Queue()
    connections.close_all()  # a forked child must open its own connection, never share the parent's

    def work(writer: int, count: int) -> None:
        try:
            connection.ensure_connection()
            start.wait()
            for n in range(count):
                append(writer, n)
        except BaseException as exc:
            errors.put(f"writer {writer}: {type(exc).__name__}: {exc}")
            start.abort()
            raise
        finally:
            connection.close()

    processes = [context.Process(target=work, args=(w, c)) for w, c in enumerate(counts)]
    for process in processes:
        process.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    began = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - began
    if any(process.exitcode for process in processes):
        raise RuntimeError(errors.get(timeout=5) if not errors.empty() else "a writer process failed")
    return events / elapsed


def _append_goal_missed(figures: list[AppendFigures]) -> bool:
    return any(f.writers == GOAL_WRITERS and f.ratio < GOAL_RATIO for f in figures)


def _append_profiles(count: int) -> list[tuple[str, str]]:
    # Cumulative order shows the append's phases: lock, head read, seal, insert, commit.
    plain, chained = _plain_appender(), _chained_appender()
    chained_profile = _profile(lambda: _serial(chained, count), "cumulative", 2 * PROFILE_LINES)
    plain_profile = _profile(lambda: _serial(plain, count), "cumulative", 2 * PROFILE_LINES)
    return [
        (f"cProfile: {count} chained appends, 1 writer", chained_profile),
        (f"cProfile: {count} plain inserts, 1 writer", plain_profile),
    ]


def _serial(append: Append, count: int) -> None:
    for n in range(count):
        append(0, n)


# 2. Verification speed ---------------------------------------------------------------------------


def _verify_benchmark(
    sizes: list[int], repeat: int, scratch: Path, always_profile: bool
) -> tuple[list[VerifyFigures], list[MemoryFigures], list[tuple[str, str]]]:
    """Grows one generated chain through the sizes, so the largest is sealed only once."""
    _empty_trail()
    rows = _generated_chain(max(sizes))
    in_memory: list[tuple[bytes, str]] = []
    verifies, memory, profiles = [], [], []
    trail = scratch / "trail.jsonl"
    for size in sizes:
        _progress(f"loading a generated chain up to {size} events")
        load_s = _timed(lambda size=size: _load(rows, size - len(in_memory), in_memory))[0]
        figures = _verify_timings(size, load_s, in_memory, trail, repeat)
        verifies.append(figures)
        if size == sizes[0]:
            profiles += _verify_profiles(figures, in_memory, trail, always_profile)
        _progress(f"measuring verification memory at {size} events")
        memory += [_measure_memory(size, path, trail) for path in ("database", "export file")]
        trail.unlink()
    return verifies, memory, profiles


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
    return VerifyFigures(size, load_s, export_s, seconds)


def _verify_runs(in_memory: list[tuple[bytes, str]], trail: Path) -> dict[str, Callable[[], VerifyResult]]:
    """The verification paths, keyed as in VERIFY_PATHS."""
    from audits.ledger.fastjson import parse_record
    from audits.selectors import audit_trail_verify

    return {
        "database": audit_trail_verify,
        "memory, stdlib": lambda: _verify_in_memory(in_memory),
        "memory, orjson": lambda: _verify_in_memory(in_memory, parse_record),
        "export file": lambda: _verify_file(trail),
    }


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
        if always or _projected_seconds(figures, path) > GOAL_SECONDS
    ]


def _profile(fn: Callable[[], Any], order: str = "tottime", lines: int = PROFILE_LINES) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(fn)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(lines)
    return out.getvalue().strip()


# 3. Verification memory --------------------------------------------------------------------------


def _measure_memory(size: int, path: str, trail: Path) -> MemoryFigures:
    # Two processes: tracemalloc's own bookkeeping would inflate the RSS figure.
    rss = _memory_child_run(path, trail, trace=False)
    traced = _memory_child_run(path, trail, trace=True)
    return MemoryFigures(size, path, rss["rss_before"], rss["rss_peak"], rss["peak_reset"], traced["traced_peak"])


def _memory_child_run(path: str, trail: Path, *, trace: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.audit_trail", "--measure-verify-memory", path, "--trail", str(trail)]
    done = subprocess.run(
        [*command, *(["--trace"] if trace else [])], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement failed ({path}):\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def _memory_child(path: str, trail: Path, trace: bool) -> int:
    """Runs in a fresh process: one verification, memory read around it, JSON on stdout."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    django.setup()
    verify = _warmed_verifier(path, trail)
    if trace:
        tracemalloc.start()
    peak_reset = _reset_peak_rss()
    before = _memory_status()["VmRSS"]
    result = verify()
    peak = _memory_status()["VmHWM"]
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else 0
    figures = {
        "ok": result.ok,
        "size": result.size,
        "rss_before": before,
        "rss_peak": peak,
        "peak_reset": peak_reset,
        "traced_peak": traced_peak,
    }
    print(json.dumps(figures))
    return 0 if result.ok else 1


def _reset_peak_rss() -> bool:
    """Restarts this process's peak RSS (VmHWM) from its current RSS; False where Linux refuses.

    Not ru_maxrss: Linux carries the parent's high-water mark into a child across fork and
    exec, so a child of this (large) benchmark process would report the parent's peak.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _memory_status() -> dict[str, int]:
    """Current (VmRSS) and peak (VmHWM) resident size of this process, in bytes."""
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {name: int(fields[name].split()[0]) * 1024 for name in ("VmRSS", "VmHWM")}


def _warmed_verifier(path: str, trail: Path) -> Callable[[], VerifyResult]:
    """The verifier for `path`, after a short run that pays for imports, connection and key loading."""
    from audits.keys import signing_key
    from audits.selectors import audit_trail_verify, stored_chain

    if path == "database":
        signing_key()
        _verify_in_memory(list(stored_chain(to_seq=1000)))
        return audit_trail_verify
    with trail.open("rb") as lines:
        verify_lines(itertools.islice(lines, 1000))
    return lambda: _verify_file(trail)


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
    for path in VERIFY_PATHS:
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


if __name__ == "__main__":
    sys.exit(main())

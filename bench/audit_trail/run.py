"""Running the benchmark: environment, migrations, the benchmark database, and the order the parts run in."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import django
import psycopg
from django.db import connection, connections
from psycopg import sql

from .appends import _append_benchmark, _append_goal_missed, _append_profiles
from .common import MemoryFigures, Report, VerifyFigures, _progress
from .memory import _measure_memory
from .report import _print_report
from .verification import _empty_trail, _generated_chain, _load, _timed, _verify_profiles, _verify_timings


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

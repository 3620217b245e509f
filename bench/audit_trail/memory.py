"""Part 3 of the audit trail benchmark: peak memory of verification, each figure from a fresh process."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

from audits.ledger.verify import VerifyResult, verify_lines

from .common import REPO_ROOT, MemoryFigures
from .verification import _verify_file, _verify_in_memory

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

"""The confined child's mechanics: each limit stops it and is named, and nothing it started outlives it."""

import errno
import signal
import sys
import time

import pytest

from mlio.confinement import (
    ChildExit,
    EvaluationLimits,
    _breach,
    breach_message,
    evaluation,
    failure_answer,
    limits_problems,
    run_limited,
)
from tests.mlio.processes import gone


def test_a_child_past_its_cpu_limit_is_stopped_with_its_whole_process_group(tmp_path):
    spin = (
        "import subprocess\n"
        "helper = subprocess.Popen(['sleep', '300'])\n"
        "open('helper.pid', 'w').write(str(helper.pid))\n"
        "while True:\n    pass\n"
    )
    ended = run_limited([sys.executable, "-c", spin], tmp_path, cpu_seconds=1, memory_mb=1024, wall_seconds=60)
    assert ended.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert _breach(ended, EvaluationLimits(cpu_seconds=1), 0) == "cpu"
    assert gone(int((tmp_path / "helper.pid").read_text()))


def test_a_child_past_its_wall_clock_limit_is_killed_and_the_parent_waits_no_longer(tmp_path):
    started = time.monotonic()
    ended = run_limited(
        [sys.executable, "-c", "import time; time.sleep(300)"], tmp_path, cpu_seconds=60, memory_mb=1024, wall_seconds=1
    )
    assert ended.timed_out
    assert time.monotonic() - started < 60
    assert _breach(ended, EvaluationLimits(wall_seconds=1), 0) == "wall"


def test_an_unknown_operation_fails_the_evaluation_without_a_breach():
    from mlio.confinement import EvaluationFailed

    with evaluation() as work, pytest.raises(EvaluationFailed) as failed:
        work.run("mlio.evaluation", {"operation": "nothing"}, limits=EvaluationLimits(), rows=1, source="a test")
    assert failed.value.unexpected
    assert "KeyError" in failed.value.message


def test_the_child_reports_refused_memory_and_oversized_files_as_those_limits():
    assert failure_answer(MemoryError()) == {"ok": False, "limit": "memory"}
    assert failure_answer(RuntimeError("Failed to allocate memory for requested buffer")) == {
        "ok": False,
        "limit": "memory",
    }
    assert failure_answer(OSError(errno.EFBIG, "File too large")) == {"ok": False, "limit": "output"}
    assert failure_answer(ValueError("no rows")) == {"ok": False, "message": "no rows"}


def test_results_past_the_output_limit_are_a_breach():
    limits = EvaluationLimits(output_mb=1)
    clean = ChildExit(returncode=0, cpu_seconds=0.5, answer={"ok": True}, stderr="")
    assert _breach(clean, limits, 2**20) is None
    assert _breach(clean, limits, 2**20 + 1) == "output"


def test_a_breach_is_said_in_words_with_the_rows_and_where_the_limit_comes_from():
    limits = EvaluationLimits()
    assert breach_message("cpu", limits, rows=1500, source="the approval policy for high risk") == (
        "the model used more than 600 s of CPU on 1,500 rows and was stopped "
        "(limit set by the approval policy for high risk)"
    )
    assert breach_message("memory", limits, rows=1, source="x").startswith(
        "the model needed more than 4,096 MiB of memory on 1 row"
    )
    assert breach_message("wall", limits, rows=2, source="x").startswith("the model ran longer than 900 s on 2 rows")


def test_limits_out_of_their_range_are_named():
    assert limits_problems({"cpu_seconds": 600, "memory_mb": 4096, "wall_seconds": 900, "output_mb": 256}) == {}
    problems = limits_problems({"cpu_seconds": 0, "memory_mb": 512, "wall_seconds": True, "output_mb": 10**9})
    assert sorted(problems) == ["cpu_seconds", "memory_mb", "output_mb", "wall_seconds"]

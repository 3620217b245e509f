"""The warm fork server: its children get every limit a spawned child gets, and only its worker may ask."""

import json
import os
import signal
import sys
import time

import pytest

from mlio import confinement, forkserver
from mlio.confinement import EvaluationLimits, _breach, child_environment, run_module_limited
from tests.mlio.processes import gone

CHILD = "tests.mlio.forkserver_child"


@pytest.fixture
def server(monkeypatch):
    """A fork server of the test's own, stopped at the end (so a declined one leaves nothing behind)."""
    client = forkserver._Client()
    monkeypatch.setattr(forkserver, "_client", client)
    monkeypatch.setattr(confinement, "_fork_server_enabled", True)
    yield client
    with client.lock:
        client._close()


def _run(tmp_path, *args, cpu_seconds=60, memory_mb=2048, wall_seconds=60):
    return run_module_limited(
        CHILD, list(args), tmp_path, cpu_seconds=cpu_seconds, memory_mb=memory_mb, wall_seconds=wall_seconds
    )


def test_children_are_forks_of_one_warm_server_with_the_limits_and_environment_of_a_spawned_child(
    server, tmp_path, monkeypatch
):
    monkeypatch.setenv("SECRET_KEY", "a-service-secret")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _run(tmp_path / "a", "report", cpu_seconds=30, memory_mb=3000)
    second = _run(tmp_path / "b", "report")
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    one, two = first.answer, second.answer
    assert one["ppid"] == two["ppid"] == server.process.pid  # forked by the server, not spawned by us
    assert one["pid"] != two["pid"]
    assert one["warm"]  # the module's WARM_IMPORTS came with the fork
    assert one["pgid"] == one["sid"] == one["pid"]  # a session and process group of its own
    assert one["cwd"] == str(tmp_path / "a")
    assert one["environment"] == child_environment(tmp_path / "a")  # no service secret, scratch home
    assert (one["cpu_limit"], one["memory_limit"]) == (30, 3000 * 2**20)
    assert one["open_descriptors"] == [0, 1, 2, 3]  # 3: the listing of /proc/self/fd itself
    assert one["threads"] == 1


def test_a_forked_child_past_its_cpu_limit_is_stopped_with_its_whole_process_group(server, tmp_path):
    ended = _run(tmp_path, "spin", cpu_seconds=1)
    assert ended.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    assert ended.cpu_seconds > 0.5  # measured by the server's wait4, as for a spawned child
    assert _breach(ended, EvaluationLimits(cpu_seconds=1), 0) == "cpu"
    assert gone(int((tmp_path / "helper.pid").read_text()))


def test_a_forked_child_past_its_wall_clock_limit_is_killed_and_the_worker_waits_no_longer(server, tmp_path):
    started = time.monotonic()
    ended = _run(tmp_path, "sleep", wall_seconds=1)
    assert ended.timed_out
    assert time.monotonic() - started < 30
    assert _breach(ended, EvaluationLimits(wall_seconds=1), 0) == "wall"
    assert server.process.poll() is None  # the server itself carries on


def test_a_model_cannot_ask_the_server_for_a_child_of_its_own(server, tmp_path):
    (tmp_path / "first").mkdir()
    _run(tmp_path / "first", "report")  # the server is up
    ended = _run(tmp_path, "knock", server.socket_path)
    assert ended.returncode == 0, ended.stderr
    assert ended.answer == {"reply": ""}  # closed unanswered: only the worker that started it may ask


def test_a_server_whose_imports_start_a_thread_steps_aside_and_the_child_is_spawned(server, tmp_path):
    ended = run_module_limited(
        "tests.mlio.forkserver_threaded", [], tmp_path, cpu_seconds=60, memory_mb=2048, wall_seconds=60
    )
    assert ended.returncode == 0
    assert ended.answer == {"ran": True}
    assert server.failed_at is not None  # spawning from now on, until it is worth trying again


def test_the_server_ends_when_its_worker_goes_away(tmp_path):
    code = (
        "import pathlib, sys\n"
        "from mlio import forkserver\n"
        "from mlio.confinement import run_module_limited\n"
        f"run_module_limited({CHILD!r}, ['report'], pathlib.Path(sys.argv[1]), cpu_seconds=60, memory_mb=2048,"
        " wall_seconds=60)\n"
        "print(forkserver._client.process.pid)\n"
    )
    import subprocess

    worker = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300, check=True
    )
    assert gone(int(worker.stdout.split()[-1]), within=30)


def test_an_evaluation_answers_the_same_forked_or_spawned(server, tmp_path, monkeypatch):
    for name in ("forked", "spawned", "forked-again"):
        (tmp_path / name).mkdir()
    forked = _run(tmp_path / "forked", "report")
    monkeypatch.setattr(confinement, "_fork_server_enabled", False)
    spawned = _run(tmp_path / "spawned", "report")
    assert spawned.answer["ppid"] == os.getpid() != forked.answer["ppid"]
    monkeypatch.setattr(confinement, "_fork_server_enabled", True)
    # Spawning runs the at-fork hooks in the spawned child: they must leave the worker's server alone.
    assert _run(tmp_path / "forked-again", "report").answer["ppid"] == forked.answer["ppid"]
    for answer in (forked.answer, spawned.answer):
        assert (answer["cpu_limit"], answer["memory_limit"]) == (60, 2048 * 2**20)
        assert answer["pgid"] == answer["pid"]
    assert json.dumps(sorted(forked.answer["environment"])) == json.dumps(sorted(spawned.answer["environment"]))

"""Run a model in a child process that cannot hold the service: limits, the child's environment, the verdict.

Django-free. A registered model is still code written by someone else: an ONNX ``Loop`` can spin for hours
on one crafted row, a graph can ask for gigabytes, a pickle can crash its loader. So every evaluation of a
model (the registration probe, explanations, bias audits, monitoring windows) runs ``python -m <module>`` in
a child that

* has a CPU limit (RLIMIT_CPU), an address-space limit (RLIMIT_AS), a limit on the size of any file it
  writes (RLIMIT_FSIZE) and no core dumps, set before it executes anything;
* runs in a session and process group of its own, killed as a group (SIGKILL) when it runs past its
  wall-clock limit, and swept as a group when it ends, so nothing it started outlives it;
* gets a minimal environment (no service secrets, no Django settings, one thread per numeric library) and
  a scratch folder as its home;
* answers through files, never pipes: its answer on its original stdout (a file), its output files in
  ``out/``, whose total size is capped as well.

The parent turns a breach into :class:`LimitExceeded`, whose message says which limit the model crossed
on how many rows, in words a person understands.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parent.parent
ANSWER_LIMIT_BYTES = 16 * 2**20
_STDERR_TAIL_BYTES = 2000
_POLL_SECONDS = 0.05
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
)
# How a framework says that an allocation was refused (RLIMIT_AS makes malloc and mmap fail).
_MEMORY_SIGNS = ("MemoryError", "Failed to allocate memory", "bad_alloc", "Cannot allocate memory", "out of memory")


# ---------------------------------------------------------------------------------------------
# Limits.


@dataclass(frozen=True)
class EvaluationLimits:
    """What one evaluation of a model may use. The defaults fit a 2-core, 24 GiB machine running two workers:
    two children at their memory limit leave room for the service, and ten minutes of CPU explain 10,000 rows
    of a 100-tree forest many times over."""

    cpu_seconds: int = 600
    memory_mb: int = 4096
    wall_seconds: int = 900
    output_mb: int = 256


# The range a policy may set each limit to (inclusive). The child imports pandas, pyarrow, SHAP and the
# model frameworks before it loads anything (about 1 GiB of address space), hence the memory floor; the
# wall-clock ceiling stays under CELERY_TASK_SOFT_TIME_LIMIT's default (1,800 s), so the sandbox, not the
# worker's time limit, is what stops a model.
LIMIT_RANGES: dict[str, tuple[int, int]] = {
    "cpu_seconds": (1, 3600),
    "memory_mb": (1024, 65536),
    "wall_seconds": (1, 1800),
    "output_mb": (1, 4096),
}


def limits_problems(values: Mapping[str, Any]) -> dict[str, str]:
    """For each limit out of its range (or not a whole number), what is wrong with it."""
    problems = {}
    for name, (low, high) in LIMIT_RANGES.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems[name] = f"Must be a whole number from {low:,} to {high:,}."
    return problems


class LimitExceeded(Exception):
    """The model crossed one of its limits; the child was killed. Final: running it again gives the same."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message


class EvaluationFailed(Exception):
    """The child ended without a result, for a reason other than a limit (its message says which)."""

    def __init__(self, message: str, *, unexpected: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unexpected = unexpected


def breach_message(limit: str, limits: EvaluationLimits, *, rows: int, source: str) -> str:
    what = {
        "cpu": f"used more than {limits.cpu_seconds:,} s of CPU",
        "memory": f"needed more than {limits.memory_mb:,} MiB of memory",
        "wall": f"ran longer than {limits.wall_seconds:,} s",
        "output": f"wrote more than {limits.output_mb:,} MiB of results",
    }[limit]
    row_word = "row" if rows == 1 else "rows"
    return f"the model {what} on {rows:,} {row_word} and was stopped (limit set by {source})"


# ---------------------------------------------------------------------------------------------
# Parent side: the mechanics.


@dataclass
class ChildExit:
    returncode: int | None  # None: killed at the wall-clock limit
    cpu_seconds: float
    answer: dict[str, Any] | None
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_module_limited(
    module: str,
    args: list[str],
    workdir: Path,
    *,
    cpu_seconds: float,
    memory_mb: int,
    wall_seconds: float,
    file_mb: int = 0,
) -> ChildExit:
    """``python -m module *args`` in workdir under the limits: forked from the warm fork server (mlio.forkserver)
    when it is enabled and available, spawned otherwise. The same limits and the same files either way."""
    if _fork_server_enabled:
        from mlio import forkserver

        out_path, err_path = workdir / "answer.json", workdir / "stderr.txt"
        out_path.touch()
        err_path.touch()
        limits = forkserver.Limits(cpu_seconds=max(1, int(cpu_seconds)), memory_mb=memory_mb, file_mb=file_mb)
        ended = forkserver.run(module, args, workdir, limits, child_environment(workdir), wall_seconds)
        if ended is not None:
            returncode, cpu_used = ended
            return ChildExit(returncode, cpu_used, _read_answer(out_path), _tail(err_path))
    return run_limited(
        [sys.executable, "-m", module, *args],
        workdir,
        cpu_seconds=cpu_seconds,
        memory_mb=memory_mb,
        wall_seconds=wall_seconds,
        file_mb=file_mb,
    )


_fork_server_enabled = True


def use_fork_server(enabled: bool) -> None:
    """Whether children are forked from the warm fork server (settings.EVALUATION_FORK_SERVER) or spawned."""
    global _fork_server_enabled
    _fork_server_enabled = enabled


def run_limited(
    command: list[str], workdir: Path, *, cpu_seconds: float, memory_mb: int, wall_seconds: float, file_mb: int = 0
) -> ChildExit:
    """Runs the command in workdir under the limits; waits at most wall_seconds, then kills its group."""
    out_path, err_path = workdir / "answer.json", workdir / "stderr.txt"
    # Files, not pipes: a chatty child cannot fill a pipe and stall, nor make us buffer gigabytes.
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=workdir,
            env=child_environment(workdir),
            preexec_fn=lambda: limit_resources(memory_mb, cpu_seconds, file_mb),
            start_new_session=True,  # its own process group, so a breach kills its helpers too
        )
        try:
            returncode, cpu_used = _wait(child, wall_seconds)
        finally:  # also when this worker is interrupted while it waits (a soft time limit, a shutdown)
            _kill_group(child)
    return ChildExit(returncode, cpu_used, _read_answer(out_path), _tail(err_path))


def _wait(child: subprocess.Popen[bytes], wall_seconds: float) -> tuple[int | None, float]:
    """The exit status (None past the wall-clock limit) and the CPU seconds the child used, from wait4."""
    deadline = time.monotonic() + wall_seconds
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, usage.ru_utime + usage.ru_stime
        if time.monotonic() >= deadline:
            return None, float(wall_seconds)
        time.sleep(_POLL_SECONDS)


def child_environment(workdir: Path) -> dict[str, str]:
    """A minimal environment: no service secrets, one thread per library, scratch space in workdir."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "MPLBACKEND": "Agg",
        # pyarrow's allocator starts no background thread, so that a fork server stays single-threaded.
        "JE_ARROW_MALLOC_CONF": "background_thread:false",
        # MLflow's own pickle switch stays off; the child turns it on only for an allowed pickle.
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "false",
    }
    env.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    if os.environ.get("NUMBA_CACHE_DIR"):  # compiled kernels where the image or `make demo` left them
        env["NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
    return env


def limit_resources(memory_mb: int, cpu_seconds: float, file_mb: int) -> None:
    # Runs in the forked child before exec: only async-signal-safe work (setrlimit) belongs here.
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = max(1, int(cpu_seconds))
    # SIGXCPU at the soft limit; a child that ignores it meets SIGKILL a second later.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if file_mb:
        size = file_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    if child.returncode is None:
        child.wait()


def _read_answer(path: Path) -> dict[str, Any] | None:
    if path.stat().st_size > ANSWER_LIMIT_BYTES:
        return None
    try:
        answer = json.loads(path.read_bytes() or b"null")
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _tail(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - _STDERR_TAIL_BYTES))
        return handle.read().decode("utf-8", "replace")


def ran_out_of_memory(text: str) -> bool:
    return any(sign in text for sign in _MEMORY_SIGNS)


# ---------------------------------------------------------------------------------------------
# Parent side: one evaluation.


class Evaluation:
    """A scratch folder for one evaluation: the parent writes ``inputs``, runs the child, reads ``outputs``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.inputs = root / "in"
        self.outputs = root / "out"
        self.inputs.mkdir()
        self.outputs.mkdir()

    def run(self, module: str, request: dict[str, Any], *, limits: EvaluationLimits, rows: int, source: str) -> dict:
        """The child's answer; LimitExceeded on a breach; EvaluationFailed when it ends without one."""
        (self.root / "request.json").write_text(json.dumps(request), encoding="utf-8")
        ended = run_module_limited(
            module,
            [],
            self.root,
            cpu_seconds=limits.cpu_seconds,
            memory_mb=limits.memory_mb,
            wall_seconds=limits.wall_seconds,
            file_mb=limits.output_mb,
        )
        breach = _breach(ended, limits, self._output_bytes())
        if breach:
            raise LimitExceeded(breach, breach_message(breach, limits, rows=rows, source=source))
        if ended.answer is None or not ended.answer.get("ok"):
            answer = ended.answer or {}
            unexpected = ended.answer is None or bool(answer.get("unexpected"))
            if unexpected:  # not a refusal of the inputs: what the child said last helps whoever looks into it
                log.warning("%s ended without a result (status %s): %s", module, ended.returncode, ended.stderr)
            message = str(answer["message"]) if "message" in answer else _no_answer(ended)
            raise EvaluationFailed(message, unexpected=unexpected)
        return ended.answer

    def _output_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.outputs.rglob("*") if path.is_file())


@contextlib.contextmanager
def evaluation() -> Iterator[Evaluation]:
    with tempfile.TemporaryDirectory(prefix="verity-eval-") as root:
        yield Evaluation(Path(root))


def _breach(ended: ChildExit, limits: EvaluationLimits, output_bytes: int) -> str | None:
    reported = (ended.answer or {}).get("limit")
    if reported in ("memory", "output"):
        return reported
    if ended.timed_out:
        return "wall"
    if ended.returncode == -signal.SIGXCPU or (
        ended.returncode == -signal.SIGKILL and ended.cpu_seconds >= limits.cpu_seconds
    ):
        return "cpu"
    if ended.returncode == -signal.SIGXFSZ or output_bytes > limits.output_mb * 2**20:
        return "output"
    if ended.answer is None and ran_out_of_memory(ended.stderr):
        return "memory"
    return None


def _no_answer(ended: ChildExit) -> str:
    last_line = ended.stderr.strip().splitlines()[-1] if ended.stderr.strip() else ""
    if ended.returncode is not None and ended.returncode < 0:
        return f"the process evaluating the model was killed by {signal.Signals(-ended.returncode).name}. {last_line}"
    return f"the process evaluating the model exited with status {ended.returncode} without an answer. {last_line}"


# ---------------------------------------------------------------------------------------------
# Child side.


Operation = Callable[[dict[str, Any], Path], dict[str, Any]]


def child_main(operations: Mapping[str, Operation]) -> int:
    """Reads request.json in the working folder, runs its operation, answers on the original stdout."""
    root = Path.cwd()
    # The answer gets the real stdout; libraries that print (LightGBM does) write to stderr instead.
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        request = json.loads((root / "request.json").read_text(encoding="utf-8"))
        answer: dict[str, Any] = {"ok": True, **operations[request["operation"]](request, root)}
    except BaseException as exc:  # noqa: BLE001 - every way of failing becomes an answer
        answer = failure_answer(exc)
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        json.dump(answer, out, default=plain)
    return 0


def failure_answer(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, MemoryError) or ran_out_of_memory(str(exc)):
        return {"ok": False, "limit": "memory"}
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return {"ok": False, "limit": "output"}
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return {"ok": False, "message": message}
    if isinstance(exc, ValueError):  # the frameworks' way of refusing the inputs
        return {"ok": False, "message": str(exc)}
    return {"ok": False, "message": f"{type(exc).__name__}: {exc}", "unexpected": True}


def plain(value: Any) -> Any:
    """numpy scalars and arrays as the Python values JSON holds."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)

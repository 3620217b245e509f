"""A fork server for confined children: one warm process imports the model stack once, then forks a child
per evaluation. Django-free.

Spawning ``python -m <module>`` for every evaluation costs seconds of imports (pandas, pyarrow, scikit-learn,
SHAP, the boosters) before the model is even read, for every explanation chunk, bias audit and monitoring
window. The fork server pays that once per worker process:

* it is *spawned* (never forked from the worker), with the confined children's minimal environment, so its
  memory holds none of the service's settings or secrets, and it never loads a model itself;
* before the first child of a module it imports the module and the libraries the module names in
  ``WARM_IMPORTS``, and it forks only while it is single-threaded (a library that starts a thread at import
  makes it step aside; the worker then spawns children as before);
* each child puts on exactly what a spawned child gets (mlio.confinement): a session and process group of its
  own, the CPU, address-space, file-size and core limits, the minimal environment with a scratch home, its
  answer and stderr on files, and all other descriptors closed; then it runs the module as ``__main__``;
* it reports each child's pid at once (the worker kills the group at the wall-clock limit, as for a spawned
  child) and its exit status and CPU time from wait4 when it ends;
* it answers only the process that started it (the peer's pid, from SO_PEERCRED), so a model running in one
  child cannot ask for a child of its own under other limits, and it exits when that process goes away
  (end of file on its stdin).

The worker side (:func:`run`) starts it on first use and falls back to spawning (``None``) whenever it is
unavailable.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib
import json
import logging
import os
import runpy
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

READY = b"ready\n"
START_SECONDS = 180  # imports under load; past this the worker spawns children instead
_REQUEST_LIMIT_BYTES = 64 * 1024
_STATUS_GRACE_SECONDS = 30  # after a kill, how long the server may take to report the status
_RETRY_AFTER_SECONDS = 300  # after a failed start, how long the worker spawns before trying again


@dataclass
class Limits:
    cpu_seconds: int
    memory_mb: int
    file_mb: int


# ---------------------------------------------------------------------------------------------
# Worker side.


class _Client:
    """The fork server of this process: started on first use, restarted when it has gone away."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.socket_path: str | None = None
        self.folder: str | None = None
        self.failed_at: float | None = None
        self.owner = os.getpid()  # a forked copy of this object must not remove the owner's server
        atexit.register(self._close_if_owner)

    def address(self, environment: dict[str, str]) -> str | None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                return self.socket_path
            if self.failed_at is not None and time.monotonic() - self.failed_at < _RETRY_AFTER_SECONDS:
                return None
            self._close()
            try:
                self._start(environment)
            except (OSError, TimeoutError) as exc:
                log.warning("the evaluation fork server is unavailable (%s); spawning children instead", exc)
                self._close()
                self.failed_at = time.monotonic()
                return None
            self.failed_at = None
            return self.socket_path

    def _start(self, environment: dict[str, str]) -> None:
        self.folder = tempfile.mkdtemp(prefix="verity-forkserver-")  # mode 0700: only the service user
        self.socket_path = os.path.join(self.folder, "socket")
        with open(os.path.join(self.folder, "server.log"), "wb") as server_log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mlio.forkserver", self.socket_path],
                stdin=subprocess.PIPE,  # its lifeline: end of file when this process goes away
                stdout=subprocess.PIPE,
                stderr=server_log,
                cwd=self.folder,
                env={**environment, "HOME": self.folder, "TMPDIR": self.folder},
                start_new_session=True,
            )
        assert self.process.stdout is not None
        ready = selectors.DefaultSelector()
        ready.register(self.process.stdout, selectors.EVENT_READ)
        if not ready.select(START_SECONDS) or self.process.stdout.readline() != READY:
            raise TimeoutError(f"it did not start within {START_SECONDS} s: {self._log_tail()}")
        self.process.stdout.close()

    def _log_tail(self) -> str:
        assert self.folder is not None
        with contextlib.suppress(OSError):
            return Path(self.folder, "server.log").read_bytes()[-500:].decode("utf-8", "replace")
        return ""

    def _close(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            if self.process.stdin is not None:
                with contextlib.suppress(OSError):
                    self.process.stdin.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.process = self.socket_path = self.folder = None

    def _close_if_owner(self) -> None:
        if os.getpid() == self.owner:
            with self.lock:
                self._close()


_client = _Client()


def _forget_in_child() -> None:
    """A process forked from a worker starts a fork server of its own (the old one answers only its parent)."""
    global _client
    _client = _Client()


os.register_at_fork(after_in_child=_forget_in_child)


def run(
    module: str, argv: list[str], workdir: Path, limits: Limits, environment: dict[str, str], wall_seconds: float
) -> tuple[int | None, float] | None:
    """Runs ``module`` as __main__ in a fresh fork of the warm server, in workdir under the limits.

    The exit status (None: killed at the wall-clock limit) and CPU seconds used; None when the fork server
    is unavailable, so that the caller spawns the child itself."""
    address = _client.address(environment)
    if address is None:
        return None
    request = {"module": module, "argv": argv, "workdir": str(workdir), "environment": environment}
    request.update(cpu_seconds=limits.cpu_seconds, memory_mb=limits.memory_mb, file_mb=limits.file_mb)
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(_STATUS_GRACE_SECONDS)
        connection.connect(address)
        connection.sendall(json.dumps(request).encode() + b"\n")
        started = json.loads(_read_line(connection) or b"{}")
    except (OSError, ValueError) as exc:
        connection.close()
        log.warning("the evaluation fork server did not take the request (%s); spawning the child", exc)
        return None
    if "pid" not in started:  # it stepped aside (a thread appeared at import): spawn from now on
        connection.close()
        log.warning("the evaluation fork server declined: %s; spawning children", started.get("declined"))
        _client.failed_at = time.monotonic()
        return None
    with connection:
        return _wait(connection, int(started["pid"]), wall_seconds)


def _wait(connection: socket.socket, pid: int, wall_seconds: float) -> tuple[int | None, float]:
    try:
        connection.settimeout(wall_seconds)
        try:
            line = _read_line(connection)
        except TimeoutError:
            _kill(pid)
            connection.settimeout(_STATUS_GRACE_SECONDS)
            with contextlib.suppress(OSError):
                _read_line(connection)
            return None, float(wall_seconds)
    finally:  # also when this worker is interrupted while it waits (a soft time limit, a shutdown)
        _kill(pid)
    if not line:  # the server went away without a status: the child was killed with its group above
        return -signal.SIGKILL, 0.0
    ended = json.loads(line)
    return os.waitstatus_to_exitcode(int(ended["status"])), float(ended["cpu_seconds"])


def _read_line(connection: socket.socket) -> bytes:
    """One line the server wrote (b"" if it closed first); each reply is one short line and then nothing."""
    received = b""
    while not received.endswith(b"\n") and len(received) < _REQUEST_LIMIT_BYTES:
        chunk = connection.recv(4096)
        if not chunk:
            return b""
        received += chunk
    return received


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------
# Server side.


class _Server:
    def __init__(self, socket_path: str) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(socket_path)
        self.listener.listen(64)
        self.parent = os.getppid()
        self.children: dict[int, socket.socket] = {}
        self.wakeup_read, wakeup_write = os.pipe()
        os.set_blocking(self.wakeup_read, False)
        os.set_blocking(wakeup_write, False)
        signal.set_wakeup_fd(wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "lifeline")
        self.selector.register(self.wakeup_read, selectors.EVENT_READ, "reap")

    def serve(self) -> None:
        while True:
            for key, _ in self.selector.select():
                if key.data == "lifeline" and not os.read(sys.stdin.fileno(), 4096):
                    return self.stop()
                if key.data == "accept":
                    self.accept()
                if key.data == "reap":
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wakeup_read, 4096)
                    self.reap()

    def accept(self) -> None:
        connection, _ = self.listener.accept()
        try:
            credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            peer_pid, _, _ = struct.unpack("3i", credentials)
            if peer_pid != self.parent:  # only the worker that started it may ask
                connection.close()
                return
            connection.settimeout(_STATUS_GRACE_SECONDS)
            request = json.loads(_read_line(connection))
            declined = _warm(request["module"])
            if declined:
                connection.sendall(json.dumps({"declined": declined}).encode() + b"\n")
                connection.close()
                return
            pid = os.fork()
            if pid == 0:
                _become_child(request)  # never returns
            self.children[pid] = connection
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except Exception:  # noqa: BLE001 - a request it cannot serve is closed unanswered: the worker spawns
            log.exception("the fork server could not serve a request")
            connection.close()

    def reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            connection = self.children.pop(pid, None)
            if connection is not None:
                with contextlib.suppress(OSError), connection:
                    ended = {"status": status, "cpu_seconds": usage.ru_utime + usage.ru_stime}
                    connection.sendall(json.dumps(ended).encode() + b"\n")

    def stop(self) -> None:
        for pid in self.children:
            _kill(pid)


_warm_modules: set[str] = set()


def _warm(module: str) -> str | None:
    """Imports the module and what it names in WARM_IMPORTS, once; why it may not fork, if it may not."""
    if module not in _warm_modules:
        imported = importlib.import_module(module)
        for name in getattr(imported, "WARM_IMPORTS", ()):
            importlib.import_module(name)
        _warm_modules.add(module)
    threads = len(glob.glob("/proc/self/task/*")) or threading.active_count()
    if threads > 1:
        return f"{threads} threads after importing {module} and its WARM_IMPORTS"
    return None


def _become_child(request: dict[str, Any]) -> None:
    """In the fresh fork: put on the limits of a spawned confined child, run the module, exit."""
    code = 1
    try:
        from mlio.confinement import limit_resources

        os.setsid()
        signal.set_wakeup_fd(-1)
        # The dispositions a freshly started interpreter has.
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        workdir = request["workdir"]
        os.chdir(workdir)
        _redirect(workdir)
        os.environ.clear()
        os.environ.update(request["environment"])
        tempfile.tempdir = None
        limit_resources(int(request["memory_mb"]), float(request["cpu_seconds"]), int(request["file_mb"]))
        sys.argv = [request["module"], *request["argv"]]
        sys.modules.pop(request["module"], None)  # imported by the server for its WARM_IMPORTS; runs afresh
        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child ends here whatever happens
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _redirect(workdir: str) -> None:
    """stdin from /dev/null, stdout and stderr to the files a spawned child gets, every other descriptor closed."""
    null = os.open(os.devnull, os.O_RDONLY)
    answer = os.open(os.path.join(workdir, "answer.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    errors = os.open(os.path.join(workdir, "stderr.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for source, target in ((null, 0), (answer, 1), (errors, 2)):
        os.dup2(source, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))


def main(argv: list[str]) -> int:
    server = _Server(argv[0])
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A child module for the fork server's tests: ``python -m tests.mlio.forkserver_child <what> [argument]``."""

import json
import os
import resource
import socket
import subprocess
import sys
import time

WARM_IMPORTS = ("sklearn.ensemble",)  # imported once by the fork server, before it forks


def report() -> dict:
    with open("/proc/self/status") as status:
        threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "pgid": os.getpgid(0),
        "sid": os.getsid(0),
        "cwd": os.getcwd(),
        "environment": dict(os.environ),
        "cpu_limit": resource.getrlimit(resource.RLIMIT_CPU)[0],
        "memory_limit": resource.getrlimit(resource.RLIMIT_AS)[0],
        "open_descriptors": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "threads": threads,
        "warm": "sklearn.ensemble" in sys.modules,
    }


def knock(path: str) -> dict:
    """Asks the fork server for a child of its own, as a hostile model would."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(10)
    connection.connect(path)
    request = {"module": __name__, "argv": ["report"], "workdir": os.getcwd(), "environment": {}}
    request.update(cpu_seconds=3600, memory_mb=65536, file_mb=0)
    try:
        connection.sendall(json.dumps(request).encode() + b"\n")
        return {"reply": connection.recv(4096).decode()}
    except (ConnectionResetError, BrokenPipeError):  # closed before it read what we sent
        return {"reply": ""}


def main(argv: list[str]) -> int:
    what = argv[0]
    if what == "spin":
        helper = subprocess.Popen(["sleep", "300"])
        with open("helper.pid", "w") as out:
            out.write(str(helper.pid))
        while True:
            pass
    if what == "sleep":
        time.sleep(300)
    answer = report() if what == "report" else knock(argv[1])
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Waiting for a process to be gone, for the tests of confined children."""

import os
import time


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether the process has ended (and been reaped) within the given seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False

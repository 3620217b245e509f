"""The periodic schedule, run in the serving process when there is no broker (the embedded default).

With CELERY_BROKER_URL set, `celery beat` runs settings.CELERY_BEAT_SCHEDULE and this stays off. Without
one, nothing else would: webhook retries, checkpoints, sweeps and expiry records would never happen. So
the WSGI application starts one daemon thread that runs each entry eagerly at its interval. Every job it
runs claims its rows with a conditional UPDATE, so two serving processes running it do no harm.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


class EmbeddedBeat:
    def __init__(self, schedule: Mapping[str, dict], run: Callable[[str], object], *, now: float | None = None):
        self.schedule = schedule
        self.run = run
        start = time.monotonic() if now is None else now
        self.due = {name: start for name in schedule}  # everything runs once at start, then at its interval

    def tick(self, now: float) -> list[str]:
        """Runs the entries whose time has come; returns their names."""
        ran = []
        for name, entry in self.schedule.items():
            if now < self.due[name]:
                continue
            self.due[name] = now + float(entry["schedule"])
            try:
                self.run(entry["task"])
            except Exception:  # one failing job must not stop the others, nor the thread
                logger.exception("Periodic job %s failed", name)
            ran.append(name)
        return ran

    def seconds_to_next(self, now: float) -> float:
        return max(0.0, min(self.due.values(), default=now + 60) - now)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.tick(time.monotonic())
            close_old_connections()  # the thread's own connection, as a request's end would
            stop.wait(min(self.seconds_to_next(time.monotonic()), 60.0))


def run_task(name: str) -> object:
    from governance.celery import app

    if name not in app.tasks:
        app.loader.import_default_modules()  # the apps' tasks modules, as a worker imports them at start
    return app.tasks[name].apply(throw=True).get()


_started: tuple[EmbeddedBeat, threading.Event] | None = None
_lock = threading.Lock()


def start() -> EmbeddedBeat | None:
    """Starts the thread once per process, when settings.EMBEDDED_BEAT says so; None otherwise."""
    global _started
    if not settings.EMBEDDED_BEAT:
        return None
    with _lock:
        if _started is None:
            beat, stop = EmbeddedBeat(settings.CELERY_BEAT_SCHEDULE, run_task), threading.Event()
            threading.Thread(target=beat.run_forever, args=(stop,), name="embedded-beat", daemon=True).start()
            _started = (beat, stop)
            logger.info("Running the periodic schedule in-process (no broker): %s", ", ".join(beat.schedule))
        return _started[0]

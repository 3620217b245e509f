"""Starts a thread when imported, as some native libraries do."""

import threading

_stop = threading.Event()
threading.Thread(target=_stop.wait, daemon=True).start()

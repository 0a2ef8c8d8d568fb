"""Progress lines at a steady interval: rows, bytes, percent, rate and ETA."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


def _eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


class ProgressReporter:
    """A daemon thread that logs ``snapshot()`` = (rows, bytes done, bytes total) every ``interval`` s."""

    def __init__(self, snapshot: Callable[[], tuple[int, int, int]], logger: logging.Logger,
                 interval: float = 10.0) -> None:
        self._snapshot = snapshot
        self._log = logger
        self._interval = interval
        self._stop = threading.Event()
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="lightning-progress", daemon=True)

    def __enter__(self) -> ProgressReporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def line(self) -> str:
        rows, done, total = self._snapshot()
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = done / elapsed
        percent = 100.0 * done / total if total else 100.0
        eta = _eta((total - done) / rate) if rate > 0 and total > done else "0h00m00s"
        return (f"progress: {percent:.1f}% ({done / 1e6:.1f}/{total / 1e6:.1f} MB), {rows} rows, "
                f"{rate / 1e6:.1f} MB/s, {rows / elapsed:.0f} rows/s, ETA {eta}")

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._log.info(self.line())

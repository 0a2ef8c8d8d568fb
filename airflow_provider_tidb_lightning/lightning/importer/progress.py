"""Progress at a steady interval: rows, bytes, percent, rate and ETA.

In a log (an Airflow task, a file, a pipe) that is a line every ``interval`` seconds. On a terminal
it is a live progress bar (rich) instead, with the log's lines printed above it: a person watching
an import wants one line that moves, not a scrolling column of percentages.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


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
        self._bar: _LiveBar | None = None

    def __enter__(self) -> ProgressReporter:
        self._bar = _LiveBar(self._snapshot) if _on_terminal() else None
        if self._bar is not None:
            self._bar.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._bar is not None:
            self._bar.stop()

    def line(self) -> str:
        rows, done, total = self._snapshot()
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rate = done / elapsed
        percent = 100.0 * done / total if total else 100.0
        eta = _eta((total - done) / rate) if rate > 0 and total > done else "0h00m00s"
        return (f"progress: {percent:.1f}% ({done / 1e6:.1f}/{total / 1e6:.1f} MB), {rows} rows, "
                f"{rate / 1e6:.1f} MB/s, {rows / elapsed:.0f} rows/s, ETA {eta}")

    def _run(self) -> None:
        if self._bar is not None:
            while not self._stop.wait(0.25):
                self._bar.refresh()
            return
        while not self._stop.wait(self._interval):
            self._log.info(self.line())


def _on_terminal() -> bool:
    """Standard error is a terminal a person watches (not a dumb one), and the bar is not switched off."""
    return (sys.stderr.isatty() and os.environ.get("TERM", "") != "dumb"
            and os.environ.get("TIDB_LIGHTNING_PY_PROGRESS", "") != "lines")


class _LiveBar:
    """A rich progress bar fed from the snapshot; log lines to the terminal are printed above it."""

    def __init__(self, snapshot: Callable[[], tuple[int, int, int]]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._snapshot = snapshot
        self._progress = Progress(TextColumn("importing"), BarColumn(), TaskProgressColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TextColumn("{task.fields[rows]} rows"), TimeRemainingColumn(),
                                  console=Console(file=sys.stderr), redirect_stderr=True, redirect_stdout=False)
        self._task = self._progress.add_task("import", total=None, rows=0)
        self._moved: list[tuple[logging.StreamHandler[Any], Any]] = []

    def start(self) -> None:
        self._progress.start()
        # Handlers opened before the bar hold the real stderr; point them at rich's stand-in meanwhile.
        for handler in {*logging.getLogger().handlers, *logging.getLogger("tidb-lightning-py").handlers}:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.__stderr__:
                self._moved.append((handler, handler.stream))
                handler.setStream(sys.stderr)
        self.refresh()

    def refresh(self) -> None:
        rows, done, total = self._snapshot()
        self._progress.update(self._task, completed=done, total=total or None, rows=f"{rows:,}")

    def stop(self) -> None:
        self.refresh()
        self._progress.stop()
        for handler, stream in self._moved:
            handler.setStream(stream)

"""Imports held mid-way by the ``TIDB_LIGHTNING_PY_HOLD_AT`` fail point, so that a test orders events instead of
racing them.

A process (or the test's own import thread) that reaches the point creates ``held-<pid>`` in the hold's
directory and waits there until the test creates ``release``. "Start the others once the first is
mid-import", "signal it while it writes", "scrape it mid-import" then hold on any machine, however slow,
instead of only when the test's polling outruns the import. Leaving the ``with`` block releases every
holder, also when an assertion failed, so no process is left waiting.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import pytest

from airflow_provider_tidb_lightning.lightning.common import failpoint


class Hold:
    def __init__(self, directory: Path) -> None:
        directory.mkdir()
        self.directory = directory

    def env(self, point: str) -> dict[str, str]:
        """The environment that holds a process the n-th time it reaches ``point`` (``name:n``)."""
        return {"TIDB_LIGHTNING_PY_HOLD_AT": point, "TIDB_LIGHTNING_PY_HOLD_DIR": str(self.directory)}

    def install(self, monkeypatch: pytest.MonkeyPatch, point: str) -> None:
        """Hold this process's own import (run in a thread of the test) at ``point``, counted from now."""
        monkeypatch.setattr(failpoint, "_counts", {})
        for name, value in self.env(point).items():
            monkeypatch.setenv(name, value)

    def wait_for(self, pid: int, running: Callable[[], bool], timeout: float = 120) -> bool:
        """True once process ``pid`` is held; False if it stopped ``running`` first."""
        deadline = time.monotonic() + timeout
        marker = self.directory / f"held-{pid}"
        while not marker.exists():
            if not running():
                return marker.exists()
            assert time.monotonic() < deadline, f"process {pid} neither reached the hold nor ended in {timeout} s"
            time.sleep(0.01)
        return True

    def wait_for_process(self, proc: subprocess.Popen[str]) -> bool:
        return self.wait_for(proc.pid, lambda: proc.poll() is None)

    def wait_in_process(self, worker: Callable[[], bool]) -> bool:
        """For an import in a thread of the test: ``worker`` is its ``is_alive``."""
        return self.wait_for(os.getpid(), worker)

    def release(self) -> None:
        (self.directory / "release").touch()

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def execute_killed_mid_import(monkeypatch: pytest.MonkeyPatch, directory: Path, execute: Callable[[], object],
                              on_kill: Callable[[], None], point: str = "batch-committed:5") -> float | None:
    """Run ``execute`` (an operator's, in this thread: Airflow 2.11 refuses it elsewhere) and call ``on_kill``
    from another thread while the import is held at ``point``, as a task is killed from outside.

    Returns when ``execute`` has returned or raised (its exception propagates), with the monotonic time
    ``on_kill`` was called, or None if the import ended before reaching ``point``.
    """
    killed: list[float] = []
    returned = threading.Event()
    with Hold(directory) as hold:
        hold.install(monkeypatch, point)

        def kill_mid_import() -> None:
            if hold.wait_in_process(lambda: not returned.is_set()):
                killed.append(time.monotonic())
                on_kill()
            hold.release()

        killer = threading.Thread(target=kill_mid_import)
        killer.start()
        try:
            execute()
        finally:
            returned.set()
            killer.join(timeout=90)
    return killed[0] if killed else None

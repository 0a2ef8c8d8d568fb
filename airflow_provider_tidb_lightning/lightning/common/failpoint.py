"""Fail points: named places where a test can make the importing process die or fail on purpose.

Resumability is only believable when it has been shown at every awkward instant, so the engine
marks those instants with :func:`fault_point`. Nothing happens unless the environment asks:

* ``TIDB_LIGHTNING_PY_KILL_AT=name:n`` sends SIGKILL to this process the n-th time ``name`` is reached
  (a crash that runs no ``finally`` block, like a node loss under an Airflow worker);
* ``TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES=n`` raises :class:`InjectedFault` once n batches have been
  committed by this process (an ordinary task failure, as Airflow would retry it);
* ``TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT=name:n`` raises the error of a lost connection (2013) the
  n-th time ``name`` is reached: the caller treats it as it treats a real one (closes the
  connection, so the server rolls back, and retries);
* ``TIDB_LIGHTNING_PY_FAIL_AT=name:n`` raises :class:`InjectedFault` the n-th time ``name`` is
  reached (a task that fails at that instant, as Airflow would retry it);
* ``TIDB_LIGHTNING_PY_HOLD_AT=name:n`` with ``TIDB_LIGHTNING_PY_HOLD_DIR=dir`` pauses the thread that
  reaches ``name`` the n-th time: it creates ``dir/held-<pid>`` and waits until ``dir/release``
  exists. A test holds processes mid-import until all of them are in (or until it has sent its
  signal, or read its metrics), so that what it checks never depends on which process ran faster.

The names are listed in :data:`FAULT_POINTS`; the check costs five environment lookups when unset.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pymysql

FAULT_POINTS = (
    "schema-created",  # after each CREATE (database, table, view)
    "checkpoint-creating",  # inside the transaction that creates a task's mysql checkpoint
    "chunk-claimed",  # shared import: a chunk's claim committed, not yet read back
    "step-claimed",  # shared import: a once-per-import step's claim committed, the step not yet run
    "batch-sent",  # rows executed, transaction not yet committed
    "batch-committed",  # rows and checkpoint committed
    "chunk-finished",
    "table-finished",
    "task-finished",  # before the checkpoint is cleaned up
    "swap-starting",  # refresh mode "swap": verified, before the one RENAME TABLE
    "swap-done",  # refresh mode "swap": after the RENAME, before old tables are dropped
    "import-returned",  # the operator: run_import returned, the task has not yet
)


class InjectedFault(RuntimeError):
    """Raised by ``TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES``; deliberately not an ImportFailed."""


def _point_at(variable: str) -> tuple[str, int] | None:
    value = os.environ.get(variable)
    if not value:
        return None
    name, _, count = value.partition(":")
    if name not in FAULT_POINTS:
        raise ValueError(f"{variable}: unknown fail point {name!r}; expected one of {FAULT_POINTS}")
    return name, int(count or 1)


_counts: dict[str, int] = {}
_lock = threading.Lock()


def fault_point(name: str) -> None:
    """Mark a place; die or fail here if the environment asked for it (read at each call, so tests can set it)."""
    kill_at = _point_at("TIDB_LIGHTNING_PY_KILL_AT")
    lose_at = _point_at("TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT")
    fail_at = _point_at("TIDB_LIGHTNING_PY_FAIL_AT")
    hold_at = _point_at("TIDB_LIGHTNING_PY_HOLD_AT")
    fail_after = int(os.environ.get("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES") or 0)
    if kill_at is None and lose_at is None and fail_at is None and hold_at is None and not fail_after:
        return
    with _lock:
        seen = _counts[name] = _counts.get(name, 0) + 1
    if hold_at == (name, seen):
        _hold()
    if kill_at == (name, seen):
        os.kill(os.getpid(), signal.SIGKILL)
    if lose_at == (name, seen):
        raise pymysql.err.OperationalError(
            2013, f"Lost connection to MySQL server during query (TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT={name}:{seen})")
    if fail_at == (name, seen):
        raise InjectedFault(f"injected failure at {name}:{seen} (TIDB_LIGHTNING_PY_FAIL_AT)")
    if name == "batch-committed" and fail_after and seen == fail_after:
        raise InjectedFault(f"injected failure after {seen} committed batches (TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES)")


def _hold() -> None:
    """Announce the hold in ``TIDB_LIGHTNING_PY_HOLD_DIR`` and wait for the test's ``release`` file there."""
    directory = os.environ.get("TIDB_LIGHTNING_PY_HOLD_DIR")
    if not directory:
        raise ValueError("TIDB_LIGHTNING_PY_HOLD_AT needs TIDB_LIGHTNING_PY_HOLD_DIR: the directory of the "
                         "held-<pid> and release files")
    (Path(directory) / f"held-{os.getpid()}").touch()
    release = Path(directory) / "release"
    while not release.exists():
        time.sleep(0.01)

"""Checkpoint control operations, as tidb-lightning-ctl offers them.

``remove`` forgets checkpoints; ``error_ignore`` lets failed tables continue from where they
stopped; ``error_destroy`` drops what failed tables received on the target and resets them so the
next run imports them from the start; ``dump`` writes the state as CSV files for inspection.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..common.quoting import quote_table
from ..mydump.rows import ReadPosition
from .model import ChunkProgress, TableStatus, TaskCheckpoint
from .store import CheckpointStore

ALL = "all"


def normalize_table(name: str) -> str:
    """Accept ``db.tbl`` or ```db`.`tbl``` and return the quoted key the checkpoint uses."""
    if name == ALL or name.startswith("`"):
        return name
    schema, dot, table = name.partition(".")
    if not dot:
        raise ValueError(f"table name {name!r} must be db.tbl or `db`.`tbl`")
    return quote_table(schema, table)


def _tasks(store: CheckpointStore, task_id: str | None) -> list[TaskCheckpoint]:
    ids = [task_id] if task_id else store.task_ids()
    return [t for t in (store.load(i) for i in ids) if t is not None]


def remove(store: CheckpointStore, table: str, task_id: str | None = None) -> list[str]:
    """Forget the checkpoint of every task (or ``task_id``), or of one table in it. Returns what was removed."""
    table = normalize_table(table)
    removed = []
    for task in _tasks(store, task_id):
        if table == ALL:
            store.remove(task.task_id)
            removed.append(task.task_id)
        elif table in task.tables:
            _reset_tables(store, task, {table})
            removed.append(f"{task.task_id}: {table}")
    return removed


def error_ignore(store: CheckpointStore, table: str, task_id: str | None = None) -> list[str]:
    """Clear the failed status so the next run continues the table from its saved positions."""
    table = normalize_table(table)
    changed = []
    for task in _tasks(store, task_id):
        for key, state in task.tables.items():
            if state.status == TableStatus.FAILED and table in (ALL, key):
                status = TableStatus.SCHEMA if state.target_id else TableStatus.PENDING
                store.save_table(task.task_id, replace(state, status=status, error=""))
                changed.append(f"{task.task_id}: {key}")
    return changed


def error_destroy(store: CheckpointStore, conn: Any, table: str, task_id: str | None = None,
                  loaded_into: Callable[[str, str], str] | None = None) -> list[str]:
    """Drop failed target tables and reset their checkpoint, so the next run imports them again.

    ``loaded_into(task_id, key)`` names the table that received the rows when it is not the target
    itself (refresh mode "swap" loads into a shadow table: that one is dropped, the live one kept)."""
    table = normalize_table(table)
    destroyed: list[str] = []
    for task in _tasks(store, task_id):
        failed = {k for k, s in task.tables.items() if s.status == TableStatus.FAILED and table in (ALL, k)}
        if not failed:
            continue
        with conn.cursor() as cur:
            for key in sorted(failed):
                cur.execute(f"DROP TABLE IF EXISTS {loaded_into(task.task_id, key) if loaded_into else key}")
        _reset_tables(store, task, failed)
        destroyed.extend(f"{task.task_id}: {k}" for k in sorted(failed))
    return destroyed


def _reset_tables(store: CheckpointStore, task: TaskCheckpoint, tables: set[str]) -> None:
    """Put ``tables`` back to the start: pending, chunks at their first byte; in one atomic :meth:`create`.

    The task keeps its chunk list so its source fingerprint still matches on the next run.
    """
    reset = task.copy()
    for key in tables:
        reset.tables[key] = replace(task.tables[key], status=TableStatus.PENDING, error="", target_id="")
    for key, chunk in task.chunks.items():
        if chunk.table in tables:
            reset.chunks[key] = replace(chunk, progress=ChunkProgress(ReadPosition(chunk.start)))
    store.create(reset)


def dump(store: CheckpointStore, directory: str, task_id: str | None = None) -> list[str]:
    """Write ``tasks.csv``, ``tables.csv`` and ``chunks.csv`` into ``directory``; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    tasks = _tasks(store, task_id)
    files: dict[str, tuple[list[str], list[list[Any]]]] = {
        "tasks.csv": (["task_id", "fingerprint"], [[t.task_id, t.fingerprint] for t in tasks]),
        "tables.csv": (["task_id", "table", "status", "target_id", "error"],
                       [[t.task_id, s.key, s.status.value, s.target_id, s.error]
                        for t in tasks for s in t.tables.values()]),
        "chunks.csv": (["task_id", "table", "chunk", "path", "file_size", "start", "end", "position",
                        "position_columns", "position_in_values", "rows", "finished"],
                       [[t.task_id, c.table, c.key, c.path, c.file_size, c.start, "" if c.end is None else c.end,
                         c.progress.position.offset, ",".join(c.progress.position.columns or ()),
                         int(c.progress.position.in_values), c.progress.rows, int(c.progress.finished)]
                        for t in tasks for c in t.chunks.values()]),
    }
    written = []
    for name, (header, rows) in files.items():
        path = os.path.join(directory, name)
        with open(path, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)
        written.append(path)
    return written

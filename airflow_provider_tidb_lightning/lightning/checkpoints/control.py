"""Checkpoint control operations, as tidb-lightning-ctl offers them.

``remove`` forgets checkpoints; ``error_ignore`` lets failed tables continue from where they
stopped; ``error_destroy`` drops what failed tables received on the target and resets them so the
next run imports them from the start; ``dump`` writes the state as CSV files for inspection.
"""

from __future__ import annotations

import csv
import os
from typing import Any

from ..common.quoting import quote_table
from ..mydump.rows import ReadPosition
from .model import TABLE_FAILED, TABLE_PENDING, TABLE_SCHEMA, TaskCheckpoint
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
            _reset_tables(store, task, {table}, status=None)
            removed.append(f"{task.task_id}: {table}")
    return removed


def error_ignore(store: CheckpointStore, table: str, task_id: str | None = None) -> list[str]:
    """Clear the failed status so the next run continues the table from its saved positions."""
    table = normalize_table(table)
    changed = []
    for task in _tasks(store, task_id):
        for key, state in task.tables.items():
            if state.status == TABLE_FAILED and table in (ALL, key):
                state.status = TABLE_SCHEMA if state.target_id else TABLE_PENDING
                state.error = ""
                store.save_table(task.task_id, state)
                changed.append(f"{task.task_id}: {key}")
    return changed


def error_destroy(store: CheckpointStore, conn: Any, table: str, task_id: str | None = None) -> list[str]:
    """Drop failed target tables and reset their checkpoint, so the next run imports them again."""
    table = normalize_table(table)
    destroyed = []
    for task in _tasks(store, task_id):
        failed = {k for k, s in task.tables.items() if s.status == TABLE_FAILED and table in (ALL, k)}
        if not failed:
            continue
        with conn.cursor() as cur:
            for key in sorted(failed):
                cur.execute(f"DROP TABLE IF EXISTS {key}")
        _reset_tables(store, task, failed, status=TABLE_PENDING)
        destroyed.extend(f"{task.task_id}: {k}" for k in sorted(failed))
    return destroyed


def _reset_tables(store: CheckpointStore, task: TaskCheckpoint, tables: set[str], status: str | None) -> None:
    """Put ``tables`` back to the start: chunks at their first byte, status ``status`` (None: pending).

    The task keeps its chunk list so its source fingerprint still matches on the next run.
    """
    for key in tables:
        state = task.tables[key]
        state.status = status or TABLE_PENDING
        state.error = ""
        state.target_id = ""
    for chunk in task.chunks.values():
        if chunk.table in tables:
            chunk.position = ReadPosition(chunk.start)
            chunk.rows = 0
            chunk.finished = False
    store.create(task)


def dump(store: CheckpointStore, directory: str, task_id: str | None = None) -> list[str]:
    """Write ``tasks.csv``, ``tables.csv`` and ``chunks.csv`` into ``directory``; returns the paths."""
    os.makedirs(directory, exist_ok=True)
    tasks = _tasks(store, task_id)
    files = {
        "tasks.csv": (["task_id", "fingerprint"], [[t.task_id, t.fingerprint] for t in tasks]),
        "tables.csv": (["task_id", "table", "status", "target_id", "error"],
                       [[t.task_id, s.key, s.status, s.target_id, s.error] for t in tasks for s in t.tables.values()]),
        "chunks.csv": (["task_id", "table", "chunk", "path", "file_size", "start", "end", "position",
                        "position_columns", "position_in_values", "rows", "finished"],
                       [[t.task_id, c.table, c.key, c.path, c.file_size, c.start, "" if c.end is None else c.end,
                         c.position.offset, ",".join(c.position.columns or ()), int(c.position.in_values), c.rows,
                         int(c.finished)] for t in tasks for c in t.chunks.values()]),
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

"""The checkpoint store interface, and the in-memory store used when checkpoints are off.

Two kinds of store exist. A *transactional* store (the ``mysql`` driver) saves a chunk's progress
with the writer's own cursor inside the transaction that inserts the rows, so data and checkpoint
always agree and a resume is exactly once. A non-transactional store (``file``, or none) is told
about progress after the rows are committed, so a crash can lose the last few saves: the rows
after the saved position are sent again on resume (at least once).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

from .model import ChunkCheckpoint, TableCheckpoint, TaskCheckpoint


class CheckpointStore(ABC):
    transactional: bool = False

    @abstractmethod
    def load(self, task_id: str) -> TaskCheckpoint | None:
        """The saved state of ``task_id``, or None when there is none."""

    @abstractmethod
    def create(self, task: TaskCheckpoint) -> None:
        """Save a new task with all its tables and chunks, replacing any older state of it."""

    @abstractmethod
    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        """Save a table's status (durably, before returning)."""

    def save_progress_in_transaction(self, cursor: Any, task_id: str, chunk: ChunkCheckpoint) -> None:
        """Transactional stores: write ``chunk``'s position with the writer's cursor, uncommitted."""
        raise NotImplementedError

    def read_progress(self, cursor: Any, task_id: str, chunk: ChunkCheckpoint) -> tuple[int, int]:
        """Transactional stores: the committed (offset, rows) of ``chunk``, read with ``cursor``."""
        raise NotImplementedError

    def progress_committed(self, task_id: str, chunk: ChunkCheckpoint) -> None:  # noqa: B027
        """Non-transactional stores: the rows up to ``chunk.position`` are committed."""

    @abstractmethod
    def finish_chunk(self, task_id: str, chunk: ChunkCheckpoint) -> None:
        """Mark ``chunk`` finished (durably)."""

    @abstractmethod
    def remove(self, task_id: str, table: str | None = None) -> None:
        """Forget a task (or one table of it, with its chunks)."""

    @abstractmethod
    def rename(self, task_id: str, new_task_id: str) -> None:
        """Keep a finished task's state under another id (``keep-after-success = "rename"``)."""

    @abstractmethod
    def task_ids(self) -> list[str]:
        """Every task this store holds."""

    def close(self) -> None:  # noqa: B027
        """Flush and release resources."""


class MemoryStore(CheckpointStore):
    """Checkpoints kept in memory only: the store used when ``[checkpoint] enable = false``."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskCheckpoint] = {}
        self._lock = threading.RLock()

    def load(self, task_id: str) -> TaskCheckpoint | None:
        return self._tasks.get(task_id)

    def create(self, task: TaskCheckpoint) -> None:
        with self._lock:
            self._tasks[task.task_id] = task
            self._changed()

    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        with self._lock:
            self._tasks[task_id].tables[table.key] = table
            self._changed(urgent=True)

    def progress_committed(self, task_id: str, chunk: ChunkCheckpoint) -> None:
        with self._lock:
            self._tasks[task_id].chunks[chunk.key] = chunk
            self._changed()

    def finish_chunk(self, task_id: str, chunk: ChunkCheckpoint) -> None:
        with self._lock:
            chunk.finished = True
            self._tasks[task_id].chunks[chunk.key] = chunk
            self._changed(urgent=True)

    def remove(self, task_id: str, table: str | None = None) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return
            if table is None:
                del self._tasks[task_id]
            else:
                task.tables.pop(table, None)
                task.chunks = {k: c for k, c in task.chunks.items() if c.table != table}
            self._changed(urgent=True)

    def rename(self, task_id: str, new_task_id: str) -> None:
        with self._lock:
            task = self._tasks.pop(task_id)
            task.task_id = new_task_id
            self._tasks[new_task_id] = task
            self._changed(urgent=True)

    def task_ids(self) -> list[str]:
        return sorted(self._tasks)

    def _changed(self, urgent: bool = False) -> None:
        """Hook for persistent subclasses; memory needs nothing."""

"""The checkpoint store protocol, and the in-memory store used when checkpoints are off.

Every store answers the same calls; what differs is how durable they are, never what a caller
does. A store opens the writers' connections (:meth:`CheckpointStore.writer_connection`), because
how a batch commits is its business, and a chunk's progress is handed over with that connection
once the batch's rows were sent:

* :meth:`CheckpointStore.commit_progress` commits the batch together with the progress.
  The ``mysql`` store writes the progress into the batch's transaction first, so rows and position
  commit together (exactly once). The ``file`` and memory stores use autocommit connections (a
  batch of one statement commits by itself, with no COMMIT round trip; a batch sent row by row is
  an explicit transaction, committed here), then remember the position (at least once: a crash
  between the two sends those rows again on resume).
* :meth:`CheckpointStore.committed_progress` answers "was this batch committed?" after a
  connection was lost during COMMIT. The ``mysql`` store reads its row on the new connection; the
  others answer what they were told, which never includes the lost batch, so it is sent again.

Progress arrives as frozen :class:`~.model.ChunkProgress` values and tables as frozen
:class:`~.model.TableCheckpoint` values; :meth:`CheckpointStore.load` returns a copy. Nothing a
store keeps is shared with a writer thread.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pymysql
from pymysql.constants import SERVER_STATUS

from .model import ChunkProgress, TableCheckpoint, TaskCheckpoint

Connect = Callable[[bool], pymysql.Connection]  # opens a connection to the target with autocommit on (True) or off


class CheckpointStore(ABC):
    @abstractmethod
    def load(self, task_id: str) -> TaskCheckpoint | None:
        """A copy of the saved state of ``task_id``, or None when there is none."""

    @abstractmethod
    def create(self, task: TaskCheckpoint) -> None:
        """Save a new task with all its tables and chunks, replacing any older state of it, all or nothing."""

    @abstractmethod
    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        """Save a table's status (durably, before returning)."""

    @abstractmethod
    def writer_connection(self, connect: Connect) -> pymysql.Connection:
        """A connection for a writer, opened with ``connect`` in the mode this store commits batches in."""

    @abstractmethod
    def commit_progress(self, conn: Any, task_id: str, chunk_key: str, progress: ChunkProgress) -> None:
        """Commit the batch just sent on ``conn`` and record ``progress`` with it, as durably as this store can."""

    @abstractmethod
    def committed_progress(self, conn: Any, task_id: str, chunk_key: str) -> ChunkProgress:
        """The chunk's last progress this store knows to be committed; ``conn`` is a fresh writer connection."""

    @abstractmethod
    def finish_chunk(self, task_id: str, chunk_key: str, progress: ChunkProgress) -> None:
        """Mark the chunk finished at ``progress`` (durably)."""

    @abstractmethod
    def remove(self, task_id: str, table: str | None = None) -> None:
        """Forget a task (or one table of it, with its chunks)."""

    @abstractmethod
    def rename(self, task_id: str, new_task_id: str) -> None:
        """Keep a finished task's state under another id (``keep-after-success = "rename"``)."""

    @abstractmethod
    def task_ids(self) -> list[str]:
        """Every task this store holds."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release resources."""


class MemoryStore(CheckpointStore):
    """Checkpoints kept in memory only: the store used when ``[checkpoint] enable = false``.

    Every access takes the lock: writer threads record progress while the run loads and the
    progress reporter reads.
    """

    def __init__(self) -> None:
        self._tasks: dict[str, TaskCheckpoint] = {}
        self._lock = threading.RLock()

    def load(self, task_id: str) -> TaskCheckpoint | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else task.copy()

    def create(self, task: TaskCheckpoint) -> None:
        with self._lock:
            self._tasks[task.task_id] = task.copy()
            self._changed(urgent=True)

    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        with self._lock:
            self._tasks[task_id].tables[table.key] = table
            self._changed(urgent=True)

    def writer_connection(self, connect: Connect) -> pymysql.Connection:
        return connect(True)

    def commit_progress(self, conn: Any, task_id: str, chunk_key: str, progress: ChunkProgress) -> None:
        if conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:  # a batch sent row by row
            conn.commit()
        self._set_progress(task_id, chunk_key, progress, urgent=False)

    def committed_progress(self, conn: Any, task_id: str, chunk_key: str) -> ChunkProgress:
        with self._lock:
            return self._tasks[task_id].chunks[chunk_key].progress

    def finish_chunk(self, task_id: str, chunk_key: str, progress: ChunkProgress) -> None:
        self._set_progress(task_id, chunk_key, replace(progress, finished=True), urgent=True)

    def _set_progress(self, task_id: str, chunk_key: str, progress: ChunkProgress, *, urgent: bool) -> None:
        with self._lock:
            chunks = self._tasks[task_id].chunks
            chunks[chunk_key] = replace(chunks[chunk_key], progress=progress)
            self._changed(urgent=urgent)

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
            self._tasks[new_task_id] = self._tasks.pop(task_id).copy(new_task_id)
            self._changed(urgent=True)

    def task_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._tasks)

    def close(self) -> None:
        """Memory holds nothing to flush."""

    def _changed(self, urgent: bool) -> None:
        """Called under the lock after every change; persistent subclasses save here, memory needs nothing."""

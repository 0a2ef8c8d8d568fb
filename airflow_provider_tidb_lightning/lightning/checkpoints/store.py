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

Two runs of one task never write a chunk twice (with the ``mysql`` store, the only one several
processes can share): a progress update is a compare-and-set on the position the writer expects to
find (``previous``), and on its lease ``token`` when chunks are claimed, executed in the batch's own
transaction. A writer whose expectation is stale gets :class:`LostChunk`, with its batch rolled back.

Sharing one import between processes (``[checkpoint] shared = true``) adds claims with leases
(:meth:`CheckpointStore.claim_chunk`, :meth:`CheckpointStore.renew`) and once-per-import steps
(:meth:`CheckpointStore.claim_step`); only the ``mysql`` store offers them (the configuration
refuses the others).

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

from ..errors import CheckpointError
from .model import ChunkProgress, Claim, Outlook, StepState, TableCheckpoint, TableStatus, TaskCheckpoint

Connect = Callable[[bool], pymysql.Connection]  # opens a connection to the target with autocommit on (True) or off


class LostChunk(CheckpointError):
    """Another writer committed to this chunk (or took its lease) since this one read it; nothing of the batch was
    committed."""


class CheckpointStore(ABC):
    @abstractmethod
    def load(self, task_id: str) -> TaskCheckpoint | None:
        """A copy of the saved state of ``task_id``, or None when there is none."""

    @abstractmethod
    def create(self, task: TaskCheckpoint) -> None:
        """Save a new task with all its tables and chunks, replacing any older state of it, all or nothing."""

    @abstractmethod
    def load_or_create(self, task: TaskCheckpoint) -> tuple[TaskCheckpoint, bool]:
        """The saved state of ``task.task_id``, or ``task`` saved as new when there is none: (state, created).

        Atomic: of several runs starting at once, one creates and the others load what it created.
        """

    @abstractmethod
    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        """Save a table's status (durably, before returning)."""

    @abstractmethod
    def writer_connection(self, connect: Connect) -> pymysql.Connection:
        """A connection for a writer, opened with ``connect`` in the mode this store commits batches in."""

    @abstractmethod
    def commit_progress(self, conn: Any, task_id: str, chunk_key: str, progress: ChunkProgress, *,
                        previous: ChunkProgress | None = None, token: str = "") -> None:
        """Commit the batch just sent on ``conn`` and record ``progress`` with it, as durably as this store can.

        ``previous`` is the progress the writer started the batch from and ``token`` its lease on the chunk
        (empty: not claimed); a store that can check them in the batch's transaction raises :class:`LostChunk`
        (after rolling the batch back) when the saved chunk no longer matches them.
        """

    @abstractmethod
    def committed_progress(self, conn: Any, task_id: str, chunk_key: str) -> ChunkProgress:
        """The chunk's last progress this store knows to be committed; ``conn`` is a fresh writer connection."""

    @abstractmethod
    def finish_chunk(self, task_id: str, chunk_key: str, progress: ChunkProgress, token: str = "") -> None:
        """Mark the chunk finished at ``progress`` (durably); with a ``token``, only if the lease is still it."""

    @abstractmethod
    def complete_table(self, task_id: str, table: str) -> bool:
        """Mark ``table`` done if every chunk of it is finished and it is still schema-created (neither done nor
        failed); True if this call did.

        A compare-and-set, so of several workers finishing a table's last chunks at once, one finishes the table.
        """

    @abstractmethod
    def outlook(self, task_id: str) -> Outlook | None:
        """Rows per table and chunks left, in one snapshot; None when the task is gone."""

    # -- sharing one import between processes: the mysql store only -----------------------------

    def claim_chunk(self, task_id: str, owner: str, token: str, lease: float,
                    tables: list[str] | None = None) -> Claim | None:
        """Claim the first unfinished chunk (of ``tables``, if given) that no one holds a live lease on."""
        raise self._not_shared()

    def renew(self, task_id: str, owner: str, lease: float) -> None:
        """Extend every lease ``owner`` holds (chunks and steps) to ``lease`` seconds from now."""
        raise self._not_shared()

    def release(self, task_id: str, owner: str) -> None:
        """Give up every lease ``owner`` holds, so others need not wait for them to expire."""
        raise self._not_shared()

    def claim_step(self, task_id: str, step: str, owner: str, lease: float, *, alone: bool = False) -> StepState:
        """Try to take a once-per-import step (the schema step, the finish); ``alone``: only while no other
        worker's ``worker:<owner>`` step is live (not done, lease not expired), else BUSY."""
        raise self._not_shared()

    def finish_step(self, task_id: str, step: str, owner: str) -> None:
        """Record a claimed step as done."""
        raise self._not_shared()

    def _not_shared(self) -> CheckpointError:
        return CheckpointError(f"the {type(self).__name__} cannot be shared between processes; use "
                               '[checkpoint] driver = "mysql"')

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

    def load_or_create(self, task: TaskCheckpoint) -> tuple[TaskCheckpoint, bool]:
        with self._lock:
            saved = self.load(task.task_id)
            if saved is not None:
                return saved, False
            self.create(task)
            return task.copy(), True

    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        with self._lock:
            self._tasks[task_id].tables[table.key] = table
            self._changed(urgent=True)

    def complete_table(self, task_id: str, table: str) -> bool:
        with self._lock:
            task = self._tasks[task_id]
            state = task.tables[table]
            if state.status != TableStatus.SCHEMA or any(
                    c.table == table and not c.progress.finished for c in task.chunks.values()):
                return False
            self.save_table(task_id, replace(state, status=TableStatus.DONE))
            return True

    def outlook(self, task_id: str) -> Outlook | None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            rows = dict.fromkeys(task.tables, 0)
            unfinished = 0
            for chunk in task.chunks.values():
                rows[chunk.table] = rows.get(chunk.table, 0) + chunk.progress.rows
                unfinished += not chunk.progress.finished
            return Outlook(rows, unfinished, unfinished)

    def writer_connection(self, connect: Connect) -> pymysql.Connection:
        return connect(True)

    def commit_progress(self, conn: Any, task_id: str, chunk_key: str, progress: ChunkProgress, *,
                        previous: ChunkProgress | None = None, token: str = "") -> None:
        """Autocommit: a batch of one statement is committed already, so there is nothing to compare-and-set
        against; one process owns this store's state (sharing needs the mysql store)."""
        if conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:  # a batch sent row by row
            conn.commit()
        self._set_progress(task_id, chunk_key, progress, urgent=False)

    def committed_progress(self, conn: Any, task_id: str, chunk_key: str) -> ChunkProgress:
        with self._lock:
            return self._tasks[task_id].chunks[chunk_key].progress

    def finish_chunk(self, task_id: str, chunk_key: str, progress: ChunkProgress, token: str = "") -> None:
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

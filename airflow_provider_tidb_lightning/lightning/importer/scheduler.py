"""Which chunk a writer takes next: from at most ``table-concurrency`` tables at once.

A writer that finds every open table fully handed out waits for a table to finish rather than
opening another one: that is what ``table-concurrency`` promises the target (tidb-lightning's
``table-concurrency`` bounds the tables in flight the same way).

Within that bound the largest work goes first: when a table must be opened, the one with the most
bytes left, and its chunks largest first. The import ends when its last chunk does, so what the
writers do last should be small: handing tables out by name could leave one writer alone with a
whole region at the end (on two writers, the last 0.8 s of a 9 s TPC-H load), while largest-first
ends on the small tables and remainders. Tables still open one at a time, as the writers run out of
chunks, so they finish one after another rather than all near the end.

Two schedulers answer the same calls. :class:`Scheduler` hands out the chunks of one process from
memory. :class:`ClaimScheduler` serves an import shared by several processes (``[checkpoint]
shared = true``): it claims each chunk in the checkpoint tables, with a lease that
:class:`LeaseKeeper` renews while the process lives, and it waits while chunks are leased by other
workers, so that it takes over the chunk of a worker that died once its lease expires.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

import pymysql

from ..checkpoints import CheckpointStore
from ..checkpoints.model import ChunkProgress, Outlook
from ..mydump.layout import Chunk
from .plan import TableJob


@dataclass(frozen=True)
class Work:
    """A chunk handed to a writer: from which progress, and under which lease token ('' = not claimed)."""

    job: TableJob
    chunk: Chunk
    progress: ChunkProgress
    token: str = ""


def chunk_weight(chunk: Chunk) -> int:
    """The source bytes a chunk stands for, to hand out the largest first (a compressed or Parquet file,
    whose chunks are not byte ranges of it, weighs its size)."""
    if chunk.file.compression or chunk.file.format == "parquet":
        return chunk.file.size
    return (chunk.end if chunk.end is not None else chunk.file.size) - chunk.start


class Scheduler:
    def __init__(self, pending: list[tuple[TableJob, Chunk, ChunkProgress]], table_concurrency: int,
                 stop: threading.Event) -> None:
        self._queues: dict[str, deque[tuple[Chunk, ChunkProgress]]] = {}
        self._jobs: dict[str, TableJob] = {}
        for job, chunk, progress in sorted(pending, key=lambda work: -chunk_weight(work[1])):  # stable: file order
            self._queues.setdefault(job.key, deque()).append((chunk, progress))
            self._jobs[job.key] = job
        self._left = {key: len(chunks) for key, chunks in self._queues.items()}
        self._open: list[str] = []
        self._limit = max(1, table_concurrency)
        self._stop = stop
        self._cond = threading.Condition()

    def next(self) -> Work | None:
        """The next chunk to write, or None when none is left (or the import is stopping)."""
        with self._cond:
            while not self._stop.is_set():
                for key in self._open:
                    if self._queues[key]:
                        return Work(self._jobs[key], *self._queues[key].popleft())
                if len(self._open) < self._limit:
                    closed = [key for key, queue in self._queues.items() if queue and key not in self._open]
                    if closed:
                        key = max(closed, key=self._bytes_left)
                        self._open.append(key)
                        return Work(self._jobs[key], *self._queues[key].popleft())
                if not any(self._queues.values()):
                    return None
                self._cond.wait(0.2)
            return None

    def _bytes_left(self, key: str) -> int:
        return sum(chunk_weight(chunk) for chunk, _ in self._queues[key])

    def counts(self) -> tuple[int, int]:
        """(chunks not handed out yet, chunks not finished yet), for the status endpoint."""
        with self._cond:
            return sum(len(q) for q in self._queues.values()), sum(self._left.values())

    def done(self, work: Work) -> bool:
        """A writer is through with ``work`` (finished); True when it was its table's last, which closes it."""
        with self._cond:
            key = work.job.key
            self._left[key] -= 1
            if self._left[key] == 0:
                self._open.remove(key)
                self._cond.notify_all()
                return True
            return False


class ClaimScheduler:
    """Chunks claimed from the checkpoint tables of an import several processes share.

    ``table-concurrency`` bounds the tables this process writes at once: once it holds chunks of that
    many tables, it claims only among them. When nothing is free but chunks are still leased by others,
    it waits (see :func:`poll_interval`) and takes over what a dead worker leaves.
    """

    def __init__(self, store: CheckpointStore, task_id: str, owner: str, lease: float,
                 jobs: tuple[TableJob, ...], table_concurrency: int, stop: threading.Event) -> None:
        self._store = store
        self._task_id = task_id
        self._owner = owner
        self._lease = lease
        self._chunks = {chunk.key: (job, chunk) for job in jobs for chunk in job.chunks}
        self._limit = max(1, table_concurrency)
        self._stop = stop
        self._held: dict[str, int] = {}  # table -> chunks this process holds of it
        self._claims = itertools.count(1)
        self._cond = threading.Condition()
        self.claims = 0  # how many chunks this process claimed (the summary reports it)
        self.last_outlook: Outlook | None = None  # the final one has no chunk left: the whole import's rows
        self.claim_seconds = 0.0  # time spent claiming (the benchmark's overhead figure)
        self._seen: Outlook | None = None  # the latest look at the shared import, for the status endpoint

    def next(self) -> Work | None:
        wait = poll_interval(self._lease)
        while not self._stop.is_set():
            with self._cond:
                tables = sorted(self._held) if len(self._held) >= self._limit else None
                token = f"{self._owner}/{next(self._claims)}"
            started = time.monotonic()
            claim = self._store.claim_chunk(self._task_id, self._owner, token, self._lease, tables)
            with self._cond:
                self.claim_seconds += time.monotonic() - started
                if claim is not None:
                    job, chunk = self._chunks[claim.chunk_key]
                    self._held[job.key] = self._held.get(job.key, 0) + 1
                    self.claims += 1
                    return Work(job, chunk, claim.progress, claim.token)
            outlook = self._store.outlook(self._task_id)
            self._seen = outlook or self._seen
            if outlook is None or outlook.unfinished == 0:
                self.last_outlook = outlook or self.last_outlook
                return None
            with self._cond:
                self._cond.wait(wait)
        return None

    def counts(self) -> tuple[int, int]:
        """(chunks nobody holds, chunks not finished) as of this process's latest look, for the status endpoint."""
        seen = self._seen
        return (seen.claimable, seen.unfinished) if seen else (len(self._chunks), len(self._chunks))

    def done(self, work: Work) -> bool:
        """True: the table may be complete now (another worker may hold its last chunks; the store decides)."""
        with self._cond:
            key = work.job.key
            self._held[key] -= 1
            if self._held[key] == 0:
                del self._held[key]
            self._cond.notify_all()
            return True


class LeaseKeeper:
    """A daemon thread that renews every lease of this process every third of the lease time.

    If renewals fail (the server is away) the leases expire and other workers take the chunks over; this
    process's commits then fail their compare-and-set, so nothing is written twice.
    """

    def __init__(self, store: CheckpointStore, task_id: str, owner: str, lease: float,
                 log: logging.Logger) -> None:
        self._store = store
        self._task_id = task_id
        self._owner = owner
        self._lease = lease
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lightning-lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._store.release(self._task_id, self._owner)
        except (pymysql.err.MySQLError, OSError) as error:
            self._log.warning("could not give up the leases of %s (they expire in %.0f s): %s", self._owner,
                              self._lease, error)

    def _run(self) -> None:
        while not self._stop.wait(self._lease / 3):
            try:
                self._store.renew(self._task_id, self._owner, self._lease)
            except (pymysql.err.MySQLError, OSError) as error:
                self._log.warning("could not renew the leases of %s: %s", self._owner, error)


def poll_interval(lease: float) -> float:
    """How long a worker waits between looks at work others hold: short, because the end of the import
    and a finished schema step are noticed that much later (one cheap query per look), and well inside
    the lease, so an expired lease is found soon after it runs out."""
    return min(0.25, lease / 5)


def worker_name() -> str:
    """This process's name in the leases: host and pid to read, and a random part so that a reused pid differs."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


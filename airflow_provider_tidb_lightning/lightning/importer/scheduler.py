"""Which chunk a writer takes next: from at most ``table-concurrency`` tables at once.

A writer that finds every open table fully handed out waits for a table to finish rather than
opening another one: that is what ``table-concurrency`` promises the target (tidb-lightning's
``table-concurrency`` bounds the tables in flight the same way).
"""

from __future__ import annotations

import threading
from collections import deque

from ..mydump.layout import Chunk
from .plan import TableJob


class Scheduler:
    def __init__(self, pending: list[tuple[TableJob, Chunk]], table_concurrency: int,
                 stop: threading.Event) -> None:
        self._queues: dict[str, deque[Chunk]] = {}
        self._jobs: dict[str, TableJob] = {}
        for job, chunk in pending:
            self._queues.setdefault(job.key, deque()).append(chunk)
            self._jobs[job.key] = job
        self._left = {key: len(chunks) for key, chunks in self._queues.items()}
        self._open: list[str] = []
        self._limit = max(1, table_concurrency)
        self._stop = stop
        self._cond = threading.Condition()

    def next(self) -> tuple[TableJob, Chunk] | None:
        """The next chunk to write, or None when none is left (or the import is stopping)."""
        with self._cond:
            while not self._stop.is_set():
                for key in self._open:
                    if self._queues[key]:
                        return self._jobs[key], self._queues[key].popleft()
                if len(self._open) < self._limit:
                    for key, queue in self._queues.items():
                        if queue and key not in self._open:
                            self._open.append(key)
                            return self._jobs[key], queue.popleft()
                if not any(self._queues.values()):
                    return None
                self._cond.wait(0.2)
            return None

    def counts(self) -> tuple[int, int]:
        """(chunks not handed out yet, chunks not finished yet), for the status endpoint."""
        with self._cond:
            return sum(len(q) for q in self._queues.values()), sum(self._left.values())

    def finished(self, job: TableJob) -> bool:
        """Count one finished chunk of ``job``; True when it was the table's last."""
        with self._cond:
            self._left[job.key] -= 1
            if self._left[job.key] == 0:
                self._open.remove(job.key)
                self._cond.notify_all()
                return True
            return False

"""What this run did, counted in one place: rows, bytes and left-out rows per table, and source bytes done.

Writers return a :class:`~..backend.tidb.writer.BatchResult` per committed batch and the chunk
step adds it here, under one lock; the progress reporter and the summary read from here. A batch
that was rolled back and sent again is added once, because only committed batches are added.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..backend.tidb.writer import BatchResult
from .summary import TableSummary


@dataclass
class _TableCounts:
    """Counters of one table; changed only under :class:`RunStats`' lock."""

    rows: int = 0
    bytes: int = 0
    skipped: int = 0
    type_errors: int = 0
    conflicts: int = 0
    first_write: float | None = None
    last_write: float | None = None


class RunStats:
    def __init__(self, tables: Iterable[str], *, done_bytes: int, total_bytes: int) -> None:
        self._tables = {key: _TableCounts() for key in tables}
        self._done_bytes = done_bytes
        self._total_bytes = total_bytes
        self._lock = threading.Lock()

    def add_batch(self, table: str, result: BatchResult, source_bytes: int) -> None:
        """Count a committed batch; ``source_bytes`` of the data files are now done."""
        now = time.monotonic()
        with self._lock:
            counts = self._tables[table]
            counts.rows += result.rows
            counts.bytes += result.nbytes
            counts.skipped += result.skipped
            counts.type_errors += result.type_errors
            counts.conflicts += result.conflicts
            if counts.first_write is None:
                counts.first_write = now
            counts.last_write = now
            self._done_bytes += source_bytes

    def add_source_bytes(self, n: int) -> None:
        """Count source bytes done without rows (a finished chunk's tail, a compressed file at its end)."""
        with self._lock:
            self._done_bytes += n

    def table_rows(self, table: str) -> int:
        with self._lock:
            return self._tables[table].rows

    def progress(self) -> tuple[int, int, int]:
        """(rows written, source bytes done, source bytes in all) for the progress line."""
        with self._lock:
            return sum(c.rows for c in self._tables.values()), self._done_bytes, self._total_bytes

    def summaries(self, resumed: bool) -> list[TableSummary]:
        """One summary per table; a table with no batch in a resumed run was finished by an earlier run."""
        with self._lock:
            return [
                TableSummary(key, "done" if c.first_write is not None or not resumed else "skipped", c.rows, c.bytes,
                             (c.last_write - c.first_write) if c.first_write is not None and c.last_write is not None
                             else 0.0, c.skipped, c.type_errors, c.conflicts)
                for key, c in self._tables.items()
            ]

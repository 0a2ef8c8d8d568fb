"""Write batches of rows to one target table over one connection, exactly as the checkpoint says.

With a transactional checkpoint store (``mysql`` driver) every batch is one transaction: the rows,
the error records of bad rows and the chunk's new position commit together. A batch that fails for
a data reason is rolled back and sent again row by row, so only the bad rows are left out, each
recorded with its file and byte offset. Transient errors (connection lost, deadlock, server busy)
are retried with backoff on a fresh connection; if the connection died while COMMIT was in flight,
the checkpoint row itself tells whether the batch made it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pymysql

from ...checkpoints.model import ChunkCheckpoint
from ...checkpoints.store import CheckpointStore
from ...common.dberrors import classify, describe
from ...common.failpoint import fault_point
from ...common.retry import RetryPolicy
from ...errormanager.records import BudgetExceeded, ErrorBudget, ErrorRecorder
from ...errors import ImportCancelled, ImportFailed
from ...mydump.rows import RowBatch

_BUDGET_KEYS = {"type": "lightning.max-error.type", "syntax": "lightning.max-error.syntax",
                "charset": "lightning.max-error.charset", "conflict": "conflict.threshold"}


@dataclass
class TableStats:
    """Counters of one target table, shared by the writers working on it."""

    rows: int = 0
    bytes: int = 0
    skipped: int = 0
    type_errors: int = 0
    conflicts: int = 0
    first_write: float | None = None
    last_write: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, rows: int, nbytes: int, skipped: int = 0, errors: int = 0, conflicts: int = 0) -> None:
        now = time.monotonic()
        with self.lock:
            self.rows += rows
            self.bytes += nbytes
            self.skipped += skipped
            self.type_errors += errors
            self.conflicts += conflicts
            if self.first_write is None:
                self.first_write = now
            self.last_write = now


@dataclass(frozen=True)
class Session:
    """Session settings a data file's values depend on: its ``SET NAMES`` and ``SET TIME_ZONE``."""

    charset: str
    time_zone: str | None = None  # None: the server's default (or [tidb] session-vars)


@dataclass
class ChunkJob:
    """A chunk being written: where its rows go and what the checkpoint knows of it."""

    table_key: str  # `db`.`tbl`
    prefix: Callable[[tuple[str, ...] | None], bytes]  # INSERT/REPLACE ... VALUES for a column list
    path: str  # relative path, for messages and records
    session: Session  # character set and time zone this file's values are written in
    state: ChunkCheckpoint
    stats: TableStats


@dataclass
class WriteContext:
    """What every writer of one import shares."""

    mode: str  # error | replace | ignore
    connect: Callable[[], pymysql.Connection]
    store: CheckpointStore
    task_id: str
    budget: ErrorBudget
    recorder: ErrorRecorder
    count_conflicts: bool  # replace/ignore conflicts count against [conflict] threshold
    max_statement: int
    cancel: threading.Event
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class BatchWriter:
    """One writer: one connection, used by one thread at a time."""

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self._conn: pymysql.Connection | None = None
        self._session: Session | None = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; nothing to do
                pass
            self._conn = None

    def write(self, job: ChunkJob, batch: RowBatch) -> None:
        """Write ``batch`` and advance ``job.state`` to ``batch.end``, retrying transient errors."""
        ctx = self.ctx
        prefix = job.prefix(batch.columns)
        if len(prefix) + batch.nbytes + 2 * len(batch) > ctx.max_statement:
            self._check_row_sizes(job, batch, prefix)
        pending = replace(job.state, position=batch.end)
        result: tuple[int, int, int, int] | None = None
        attempt = 0
        while result is None:
            attempt += 1
            if ctx.cancel.is_set():
                raise ImportCancelled("import cancelled")
            try:
                conn = self._connection(job.session)
                if attempt > 1 and ctx.store.transactional and self._already_committed(conn, job, pending):
                    result = (pending.rows - job.state.rows, 0, 0, 0)
                else:
                    result = self._attempt(conn, job, batch, prefix, pending)
            except (pymysql.err.MySQLError, OSError) as exc:
                if classify(exc) != "transient":
                    raise ImportFailed(
                        f"table {job.table_key}: writing rows of {job.path} from byte offset "
                        f"{batch.first_offset} failed: {describe(exc)}",
                        table=job.table_key, path=job.path, offset=batch.first_offset, server_error=describe(exc),
                        data_error=False,
                    ) from exc
                self.close()
                if attempt >= ctx.retry.attempts:
                    raise ImportFailed(
                        f"table {job.table_key}: gave up after {attempt} tries writing {job.path} at byte offset "
                        f"{batch.first_offset}: {describe(exc)}",
                        table=job.table_key, path=job.path, offset=batch.first_offset, server_error=describe(exc),
                        data_error=False,
                    ) from exc
                ctx.retry.sleep(attempt, ctx.cancel)
        written, skipped, errors, conflicts = result
        job.state.position = pending.position
        job.state.rows = pending.rows
        if not ctx.store.transactional:
            ctx.store.progress_committed(ctx.task_id, job.state)
        job.stats.add(rows=written, nbytes=batch.nbytes, skipped=skipped, errors=errors, conflicts=conflicts)
        fault_point("batch-committed")

    # -- one attempt -------------------------------------------------------------------------

    def _attempt(self, conn: pymysql.Connection, job: ChunkJob, batch: RowBatch, prefix: bytes,
                 pending: ChunkCheckpoint) -> tuple[int, int, int, int]:
        """Send the batch once; returns (rows written, rows skipped, type errors, conflicts)."""
        ctx = self.ctx
        cur = conn.cursor()
        try:
            try:
                affected = cur.execute(prefix + batch.values())
            except pymysql.err.MySQLError as exc:
                if classify(exc) not in ("conflict", "type", "syntax"):
                    raise
                self._rollback(conn)
                return self._attempt_row_by_row(conn, cur, job, batch, prefix, pending)
            conflicts = self._count_conflicts(len(batch), affected)
            pending.rows = job.state.rows + len(batch) - (conflicts if ctx.mode == "ignore" else 0)
            fault_point("batch-sent")
            if ctx.store.transactional:
                ctx.store.save_progress_in_transaction(cur, ctx.task_id, pending)
                conn.commit()
            return len(batch) - (conflicts if ctx.mode == "ignore" else 0), 0, 0, conflicts
        finally:
            cur.close()

    def _attempt_row_by_row(self, conn: pymysql.Connection, cur, job: ChunkJob, batch: RowBatch, prefix: bytes,
                            pending: ChunkCheckpoint) -> tuple[int, int, int, int]:
        """Send each row on its own, recording the bad ones, all in one transaction."""
        ctx = self.ctx
        written = skipped = errors = conflicts = 0
        for row, offset in zip(batch.rows, batch.offsets, strict=True):
            try:
                affected = cur.execute(prefix + row)
            except pymysql.err.MySQLError as exc:
                kind = classify(exc)
                if kind not in ("conflict", "type", "syntax"):
                    raise
                self._bad_row(cur, job, kind, offset, row, exc)
                skipped += 1
                if kind == "conflict":
                    conflicts += 1
                else:
                    errors += 1
                continue
            n = self._count_conflicts(1, affected)
            conflicts += n
            written += 1 - (n if ctx.mode == "ignore" else 0)
        pending.rows = job.state.rows + written
        fault_point("batch-sent")
        if ctx.store.transactional:
            ctx.store.save_progress_in_transaction(cur, ctx.task_id, pending)
            conn.commit()
        return written, skipped, errors, conflicts

    def _bad_row(self, cur, job: ChunkJob, kind: str, offset: int, row: bytes, exc: BaseException) -> None:
        """Record one bad row, or stop the import when the budget for its kind is spent."""
        ctx = self.ctx
        server_error = describe(exc)
        if kind == "conflict" and ctx.mode == "error":
            self._rollback(cur.connection)
            raise ImportFailed(
                f"table {job.table_key}: duplicate key in {job.path} at byte offset {offset} with on-duplicate = "
                f"\"error\": {server_error}. Use on-duplicate = \"replace\" or \"ignore\" to import into a table "
                "that already holds these keys.",
                table=job.table_key, path=job.path, offset=offset, server_error=server_error,
            )
        try:
            ctx.budget.charge(kind)
        except BudgetExceeded as exceeded:
            self._rollback(cur.connection)
            raise ImportFailed(
                f"table {job.table_key}: {kind} error in {job.path} at byte offset {offset}: {server_error}; "
                f"{exceeded} (the limit set by {_BUDGET_KEYS[kind]}) — the import stops here",
                table=job.table_key, path=job.path, offset=offset, server_error=server_error,
            ) from exc
        ctx.recorder.record(cur, kind=kind, table=job.table_key, path=job.path, offset=offset,
                            error=server_error, row=row)

    def _count_conflicts(self, sent: int, affected: int) -> int:
        """Duplicates seen by REPLACE (replaced rows count twice) or INSERT IGNORE (rows not inserted)."""
        mode = self.ctx.mode
        if mode == "replace":
            conflicts = max(affected - sent, 0)
        elif mode == "ignore":
            conflicts = max(sent - affected, 0)
        else:
            return 0
        if conflicts and self.ctx.count_conflicts:
            try:
                self.ctx.budget.charge("conflict", conflicts)
            except BudgetExceeded as exceeded:
                raise ImportFailed(f"{exceeded} (the limit set by conflict.threshold) — the import stops here") \
                    from None
        return conflicts

    # -- connection ----------------------------------------------------------------------------

    def _connection(self, session: Session) -> pymysql.Connection:
        if self._conn is None:
            self._conn = self.ctx.connect()
            self._session = None
        if self._session != session:
            with self._conn.cursor() as cur:
                cur.execute(f"SET NAMES {session.charset}")  # a plain name, checked by the importer
                if session.time_zone is not None:
                    cur.execute("SET time_zone = %s", (session.time_zone,))
            self._session = session
        return self._conn

    def _already_committed(self, conn: pymysql.Connection, job: ChunkJob, pending: ChunkCheckpoint) -> bool:
        """After a lost connection: did the last COMMIT of this batch reach the server?"""
        with conn.cursor() as cur:
            offset, rows = self.ctx.store.read_progress(cur, self.ctx.task_id, job.state)
        conn.rollback()
        if offset == pending.position.offset and offset != job.state.position.offset:
            pending.rows = rows
            return True
        return False

    @staticmethod
    def _rollback(conn: pymysql.Connection) -> None:
        try:
            conn.rollback()
        except pymysql.err.MySQLError:
            pass

    def _check_row_sizes(self, job: ChunkJob, batch: RowBatch, prefix: bytes) -> None:
        for row, offset in zip(batch.rows, batch.offsets, strict=True):
            if len(prefix) + len(row) > self.ctx.max_statement:
                raise ImportFailed(
                    f"table {job.table_key}: the row in {job.path} at byte offset {offset} is {len(row)} bytes, "
                    f"more than the server's max_allowed_packet allows ({self.ctx.max_statement} bytes)",
                    table=job.table_key, path=job.path, offset=offset,
                )
        raise ImportFailed(f"internal: batch of {batch.nbytes} bytes exceeds max statement size "
                           f"{self.ctx.max_statement}; lower tikv-importer.logical-import-batch-size")

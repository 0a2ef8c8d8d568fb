"""Write batches of rows to one target table over one connection, and say what each batch did.

Every batch is atomic: one statement, or, when sent row by row, one explicit transaction with the
error records of its bad rows. It is committed with the chunk's new position by the
:class:`ProgressCommit` the importer hands over (with the ``mysql`` checkpoint driver the position
is written into the batch's transaction). A batch that fails
for a data reason is rolled back and sent again row by row, so only the bad rows are left out, each
recorded with its file and byte offset. Transient errors (connection lost, deadlock, server busy)
are retried with backoff on a fresh connection; if the connection died while COMMIT was in flight,
the :class:`ProgressCommit` tells whether the batch made it.

A write returns a :class:`BatchResult` and changes nothing else: counting rows, charging the error
budget and keeping the statistics is the importer's job, done once the batch has committed, so a
batch sent twice is counted once. Before COMMIT the importer may refuse a batch (its bad rows would
break the error budget): it is then rolled back. This module knows nothing of checkpoints: it defines the small
protocols it needs and the importer fills them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pymysql

from ...common.dberrors import classify, describe, error_code
from ...common.failpoint import fault_point
from ...common.retry import RetryLog, RetryPolicy
from ...errors import ImportCancelled, ImportFailed
from ...mydump.rows import ReadPosition, RowBatch
from .load_data import REFUSED_CODES, LoadDataTarget, Stream, accepted_conflicts, refused_message, send_stream

_DATA_ERRORS = ("conflict", "type", "syntax")


class ProgressCommit(Protocol):
    """How one chunk's progress commits with its rows."""

    def commit(self, conn: pymysql.Connection, position: ReadPosition, rows: int) -> None:
        """Commit the batch just sent on ``conn``, the chunk now at ``position`` with ``rows`` rows written."""

    def committed(self, conn: pymysql.Connection, position: ReadPosition) -> bool:
        """After a lost connection (``conn`` is the new one): did the batch that ends at ``position`` commit?"""

    def overtaken(self, conn: pymysql.Connection) -> bool:
        """Has another writer committed to the chunk since this one last did (a second run of the task, or a
        worker that took over this one's expired lease)? Then a duplicate key met that writer's rows."""


class BadRowRecorder(Protocol):
    """Where bad rows are recorded, inside the batch's transaction."""

    def record(self, cur: Any, *, kind: str, table: str, path: str, offset: int, error: str, row: bytes) -> None:
        """Insert one record with ``cur``."""

    def record_first_conflict(self, cur: Any, *, table: str, path: str, offset: int, error: str, row: bytes) -> None:
        """Under ``conflict.strategy = "error"``: record the import's first duplicate and commit it on its own
        (the batch was rolled back), as tidb-lightning's ``RecordDuplicateOnce``."""


@dataclass(frozen=True)
class Session:
    """Session settings a data file's values depend on: its ``SET NAMES`` and ``SET TIME_ZONE``."""

    charset: str
    time_zone: str | None = None  # None: the server's default (or [tidb] session-vars)


@dataclass(frozen=True)
class ChunkTarget:
    """A chunk being written: where its rows go and how its progress commits."""

    table_key: str  # `db`.`tbl`
    prefix: Callable[[tuple[str, ...] | None], bytes]  # INSERT/REPLACE ... VALUES for a column list
    path: str  # relative path, for messages and records
    session: Session  # character set and time zone this file's values are written in
    progress: ProgressCommit
    admit: Callable[[ChunkTarget, BatchResult], None]  # raises to refuse a sent batch before it commits
    load_data: LoadDataTarget | None = None  # logical-import-method = "load-data": batches go as LOAD DATA


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row left out of a committed batch (and recorded): its kind, where it is, what the server said."""

    kind: str  # conflict | type | syntax
    offset: int
    error: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one committed batch did."""

    rows: int  # rows written (INSERT IGNORE's ignored rows are not)
    skipped: int  # bad rows left out
    type_errors: int  # bad rows that were not conflicts
    conflicts: int  # duplicates REPLACE replaced or INSERT IGNORE ignored, and conflicting bad rows
    nbytes: int  # size of the batch's values
    position: ReadPosition  # the chunk's position after the batch
    first_offset: int  # byte offset of the batch's first row
    bad_rows: tuple[BadRow, ...] = ()


@dataclass(frozen=True)
class WriteContext:
    """What every writer of one import shares."""

    mode: str  # error | replace | ignore
    connect: Callable[[], pymysql.Connection]  # in the mode the ProgressCommit commits in
    recorder: BadRowRecorder
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

    def write(self, target: ChunkTarget, batch: RowBatch, rows_before: int) -> BatchResult:
        """Write ``batch`` and commit the chunk's progress with it (``rows_before`` rows were written before),
        retrying transient errors; returns what the committed batch did."""
        ctx = self.ctx
        prefix = target.prefix(batch.columns)
        if len(prefix) + batch.nbytes + 2 * len(batch) > ctx.max_statement:
            self._check_row_sizes(target, batch, prefix)
        in_flight: BatchResult | None = None  # sent and COMMIT issued, outcome unknown
        tries = RetryLog(ctx.retry, f"table {target.table_key}: writing {target.path} at byte offset "
                                    f"{batch.first_offset}")
        attempt = 0
        while True:
            attempt += 1
            if ctx.cancel.is_set():
                raise ImportCancelled("import cancelled")
            try:
                conn = self._connection(target.session)
                if in_flight is not None and target.progress.committed(conn, batch.end):
                    result = in_flight
                    break
                in_flight = None
                result = self._send(conn, target, batch, prefix)
                try:
                    target.admit(target, result)
                except BaseException:
                    self._rollback(conn)
                    raise
                in_flight = result
                target.progress.commit(conn, batch.end, rows_before + result.rows)
                break
            except (pymysql.err.MySQLError, OSError) as exc:
                if classify(exc) != "transient":
                    raise ImportFailed(
                        f"table {target.table_key}: writing rows of {target.path} from byte offset "
                        f"{batch.first_offset} failed: {describe(exc)}",
                        table=target.table_key, path=target.path, offset=batch.first_offset,
                        server_error=describe(exc), data_error=False,
                    ) from exc
                self.close()  # the server rolls back what this connection had not committed
                if attempt >= ctx.retry.attempts:
                    raise ImportFailed(
                        f"{tries.what}: {tries.gave_up(attempt)}: {describe(exc)}",
                        table=target.table_key, path=target.path, offset=batch.first_offset,
                        server_error=describe(exc), data_error=False,
                    ) from exc
                tries.retry(attempt, exc, ctx.cancel)
        fault_point("batch-committed")
        return result

    # -- one attempt -------------------------------------------------------------------------

    def _send(self, conn: pymysql.Connection, target: ChunkTarget, batch: RowBatch, prefix: bytes) -> BatchResult:
        """Send the batch once, leaving the transaction open."""
        load = target.load_data
        request = load.request(batch) if load is not None else None
        if load is not None and request is not None:
            loaded = self._send_load_data(conn, target, load, batch, request)
            if loaded is not None:
                return loaded
            batch = self._redo_batch(target, load, batch)
        cur: Any = conn.cursor()  # Any: PyMySQL sends a bytes statement as it is, its stubs admit only str
        try:
            try:
                affected = cur.execute(prefix + batch.values())
            except pymysql.err.MySQLError as exc:
                if classify(exc) not in _DATA_ERRORS:
                    raise
                self._rollback(conn)
                conn.begin()  # the rows and their error records commit together, whatever the connection's mode
                return self._send_row_by_row(cur, target, batch, prefix)
            conflicts = self._conflicts(len(batch), affected)
            fault_point("batch-sent")
            written = len(batch) - (conflicts if self.ctx.mode == "ignore" else 0)
            return BatchResult(written, 0, 0, conflicts, batch.nbytes, batch.end, batch.first_offset)
        finally:
            cur.close()

    def _send_load_data(self, conn: pymysql.Connection, target: ChunkTarget, load: LoadDataTarget,
                        batch: RowBatch, request: tuple[bytes, Stream]) -> BatchResult | None:
        """Send the batch as one LOAD DATA stream in a transaction; ``None`` (rolled back) when the server did
        not take every row as INSERT would have, so that the batch goes again as INSERT."""
        if conn.get_autocommit():
            conn.begin()  # the batch is judged before it commits, whatever the connection's mode
        try:
            outcome = send_stream(conn, *request)
        except pymysql.err.MySQLError as exc:
            if error_code(exc) in REFUSED_CODES:
                raise ImportFailed(f"table {target.table_key}: {refused_message(load.server, describe(exc))}",
                                   table=target.table_key, path=target.path, offset=batch.first_offset,
                                   server_error=describe(exc), data_error=False) from None
            if classify(exc) not in _DATA_ERRORS:
                raise
            self._rollback(conn)
            return None
        conflicts = accepted_conflicts(self.ctx.mode, len(batch), outcome)
        if conflicts is None:
            self._rollback(conn)
            return None
        fault_point("batch-sent")
        written = len(batch) - (conflicts if self.ctx.mode == "ignore" else 0)
        return BatchResult(written, 0, 0, conflicts, batch.nbytes, batch.end, batch.first_offset)

    @staticmethod
    def _redo_batch(target: ChunkTarget, load: LoadDataTarget, batch: RowBatch) -> RowBatch:
        """The batch's rows read again as INSERT tuples: the same rows, offsets and end."""
        redo = load.redo(batch)
        if len(redo) != len(batch) or redo.end.offset != batch.end.offset:
            raise ImportFailed(f"internal: reading {target.path} again from byte offset {batch.first_offset} gave "
                               f"{len(redo)} rows up to {redo.end.offset}, not {len(batch)} up to {batch.end.offset}",
                               table=target.table_key, path=target.path, offset=batch.first_offset)
        return redo

    def _send_row_by_row(self, cur: Any, target: ChunkTarget, batch: RowBatch, prefix: bytes) -> BatchResult:
        """Send each row on its own, recording the bad ones, all in one transaction."""
        ctx = self.ctx
        written = conflicts = 0
        bad: list[BadRow] = []
        for row, offset in zip(batch.rows, batch.offsets, strict=True):
            try:
                affected = cur.execute(prefix + row)
            except pymysql.err.MySQLError as exc:
                kind = classify(exc)
                if kind not in _DATA_ERRORS:
                    raise
                server_error = describe(exc)
                if kind == "conflict" and ctx.mode == "error":
                    self._rollback(cur.connection)
                    if not target.progress.overtaken(cur.connection):  # else not the data's conflict: no record
                        ctx.recorder.record_first_conflict(cur, table=target.table_key, path=target.path,
                                                           offset=offset, error=server_error, row=row)
                    raise ImportFailed(
                        f"table {target.table_key}: duplicate key in {target.path} at byte offset {offset} with "
                        f"conflict.strategy = \"error\": {server_error}. Use conflict.strategy = \"replace\" or "
                        "\"ignore\" to import into a table that already holds these keys.",
                        table=target.table_key, path=target.path, offset=offset, server_error=server_error,
                    ) from None
                ctx.recorder.record(cur, kind=kind, table=target.table_key, path=target.path, offset=offset,
                                    error=server_error, row=row)
                bad.append(BadRow(kind, offset, server_error))
                continue
            n = self._conflicts(1, affected)
            conflicts += n
            written += 1 - (n if ctx.mode == "ignore" else 0)
        fault_point("batch-sent")
        bad_conflicts = sum(1 for b in bad if b.kind == "conflict")
        return BatchResult(written, len(bad), len(bad) - bad_conflicts, conflicts + bad_conflicts, batch.nbytes,
                           batch.end, batch.first_offset, tuple(bad))

    def _conflicts(self, sent: int, affected: int) -> int:
        """Duplicates seen by REPLACE (replaced rows count twice) or INSERT IGNORE (rows not inserted)."""
        mode = self.ctx.mode
        if mode == "replace":
            return max(affected - sent, 0)
        if mode == "ignore":
            return max(sent - affected, 0)
        return 0

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

    @staticmethod
    def _rollback(conn: pymysql.Connection) -> None:
        try:
            conn.rollback()
        except pymysql.err.MySQLError:
            pass

    def _check_row_sizes(self, target: ChunkTarget, batch: RowBatch, prefix: bytes) -> None:
        for row, offset in zip(batch.rows, batch.offsets, strict=True):
            if len(prefix) + len(row) > self.ctx.max_statement:
                raise ImportFailed(
                    f"table {target.table_key}: the row in {target.path} at byte offset {offset} is {len(row)} "
                    f"bytes, more than the server's max_allowed_packet allows ({self.ctx.max_statement} bytes)",
                    table=target.table_key, path=target.path, offset=offset,
                )
        raise ImportFailed(f"internal: batch of {batch.nbytes} bytes exceeds max statement size "
                           f"{self.ctx.max_statement}; lower tikv-importer.logical-import-batch-size")

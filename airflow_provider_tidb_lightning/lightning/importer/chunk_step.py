"""One chunk from its saved position to its end: open it, build its reader, write its batches, finish it.

The chunk step is where a batch's result becomes the run's: once the writer says the batch
committed, its counts go to :class:`~.stats.RunStats` and its bad rows and conflicts are charged
to the error budget, once. The chunk's progress has one owner, the thread writing the chunk: it
hands each new :class:`~..checkpoints.model.ChunkProgress` to the store and keeps nothing shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import Any

from ..backend.tidb.encoder import RowEncoder, column_kind, insert_prefix
from ..backend.tidb.load_data import LoadDataEncoder, LoadDataTarget, field_terminator, load_statement, usable_for
from ..backend.tidb.sql_load_data import SQLRows, number_class, sql_load_statement
from ..backend.tidb.writer import BadRow, BatchResult, BatchWriter, ChunkTarget
from ..checkpoints import CheckpointStore
from ..checkpoints.model import ChunkProgress
from ..common.failpoint import fault_point
from ..common.linear_regex import PatternTooLarge
from ..config.model import TaskConfig
from ..errormanager.records import BudgetExceeded, ErrorBudget
from ..errors import CheckpointError, ImportCancelled, ImportFailed, SchemaError
from ..mydump.compression import skip_to
from ..mydump.csv_parser import CSVReader
from ..mydump.data_charset import open_data
from ..mydump.layout import Chunk, DataFile
from ..mydump.parquet_parser import ParquetReader
from ..mydump.rows import ReadPosition, RowBatch
from ..mydump.sql_parser import ANSI_QUOTES_MODES, SQLReader
from .column_check import MissingColumns
from .file_facts import FileFactsCache
from .plan import TableJob
from .stats import RunStats

_MIN_BLOCK = 1 << 20


@dataclass
class _StoreProgress:
    """The writer's :class:`~..backend.tidb.writer.ProgressCommit` for one chunk, backed by the checkpoint store.

    It remembers the progress of the last batch it committed: the next commit is a compare-and-set on it
    (and on the chunk's lease ``token``), so a writer that lost the chunk to another cannot commit.
    """

    store: CheckpointStore
    task_id: str
    chunk_key: str
    previous: ChunkProgress
    token: str = ""

    def commit(self, conn: Any, position: ReadPosition, rows: int) -> None:
        progress = ChunkProgress(position, rows)
        self.store.commit_progress(conn, self.task_id, self.chunk_key, progress, previous=self.previous,
                                   token=self.token)
        self.previous = progress

    def overtaken(self, conn: Any) -> bool:
        try:
            saved = self.store.committed_progress(conn, self.task_id, self.chunk_key)
        except CheckpointError:  # the checkpoint is gone: the other run finished the import
            return True
        return saved.position.offset != self.previous.position.offset

    def committed(self, conn: Any, position: ReadPosition) -> bool:
        saved = self.store.committed_progress(conn, self.task_id, self.chunk_key)
        if saved.position.offset != position.offset:
            return False
        self.previous = replace(saved, finished=False)
        return True


def _same_rows(batch: RowBatch) -> RowBatch:
    """A SQL batch read again as INSERT tuples is itself: its rows already are."""
    return batch


def chunk_size(chunk: Chunk) -> int:
    """Source bytes a chunk stands for in the progress line (a compressed file counts whole, at its end;
    a Parquet file, whose chunks are row ranges, counts whole at the end of its last chunk)."""
    if chunk.file.format == "parquet":
        return chunk.file.size if chunk.end is None else 0
    if chunk.file.compression:
        return chunk.file.size
    end = chunk.end if chunk.end is not None else chunk.file.size
    return max(0, end - chunk.start)


def bytes_done(chunk: Chunk, offset: int) -> int:
    """Source bytes of ``chunk`` done when it is at ``offset`` (compressed: unknown until the end, so 0)."""
    return 0 if chunk.file.compression or chunk.file.format == "parquet" else max(0, offset - chunk.start)


class ChunkStep:
    """Shared by every writer thread of one run; holds the per-table INSERT prefixes and CSV encoders."""

    def __init__(self, config: TaskConfig, store: CheckpointStore, task_id: str, *, stats: RunStats,
                 budget: ErrorBudget, table_columns: dict[str, list[tuple[str, str]]], max_statement: int,
                 stop: threading.Event, load_data: bool = False) -> None:
        self._config = config
        self._store = store
        self._task_id = task_id
        self._stats = stats
        self._budget = budget
        self._table_columns = table_columns
        self._stop = stop
        self._facts = FileFactsCache(config)
        self._batch_bytes = max(1, min(config.tikv_importer.logical_import_batch_size, max_statement - 65536))
        self._batch_rows = config.tikv_importer.logical_import_batch_rows
        self._block_size = max(config.mydumper.read_block_size, _MIN_BLOCK)
        self._prefixes: dict[str, Callable[[tuple[str, ...] | None], bytes]] = {}
        self._encoders: dict[tuple[str, tuple[str, ...] | None], RowEncoder] = {}
        self._lock = threading.Lock()
        self._missing = MissingColumns()
        self._load_data = load_data  # CSV and SQL batches go as LOAD DATA (logical-import-method, where the server can)
        self._sql_rows: dict[tuple[str, tuple[str, ...] | None, str], SQLRows | None] = {}

    def write(self, writer: BatchWriter, job: TableJob, chunk: Chunk, saved: ChunkProgress, token: str = "") -> None:
        """Write ``chunk`` from ``saved`` to its end with ``writer``, then mark it finished.

        ``token`` is this worker's lease on the chunk when it was claimed from a shared import; a commit
        that finds the chunk moved on without it raises :class:`~..checkpoints.store.LostChunk`.
        """
        data_file = chunk.file
        facts = self._facts.get(data_file)
        load = self._load_data_target(job, data_file, facts.columns, facts.session.charset)
        target = ChunkTarget(job.key, self._prefix_for(job), data_file.relative, facts.session,
                             _StoreProgress(self._store, self._task_id, chunk.key, saved, token), self._admit, load)
        position, rows = saved.position, saved.rows
        done = bytes_done(chunk, position.offset)
        reader: SQLReader | CSVReader | ParquetReader
        with open_data(data_file, self._config.mydumper) as stream:
            if data_file.format == "sql":
                skip_to(stream, position.offset, path=data_file.relative)
                reader = SQLReader(stream, path=data_file.relative, start=chunk.start, end=chunk.end,
                                   resume=position, block_size=self._block_size,
                                   no_backslash_escapes=self._sql_mode_has("NO_BACKSLASH_ESCAPES"),
                                   dump_no_backslash_escapes=facts.dump_no_backslash_escapes,
                                   ansi_quotes=self._sql_mode_has(*ANSI_QUOTES_MODES))
            elif data_file.format == "parquet":  # positions are row numbers
                reader = ParquetReader(stream, path=data_file.relative, start=max(chunk.start, position.offset),
                                       end=chunk.end, encoder=self._encoder_for(job, facts.columns))
            else:
                if position.offset < facts.header_end:
                    position = ReadPosition(facts.header_end)
                skip_to(stream, position.offset, path=data_file.relative)
                encoder = self._encoder_for(job, facts.columns)
                reader = CSVReader(stream, path=data_file.relative, csv=self._config.mydumper.csv,
                                   start=position.offset, end=chunk.end, columns=facts.columns,
                                   encoder=encoder if load is None else LoadDataEncoder(encoder.column_kinds,
                                                                                        self._terminator),
                                   block_size=self._block_size)
                if facts.columns is not None:
                    self._missing.report(job.key, [name for name, _ in self._table_columns.get(job.key, [])],
                                         facts.columns, data_file.relative)
            for batch in reader.batches(self._batch_bytes, self._batch_rows):
                if self._stop.is_set():
                    raise ImportCancelled("stopped")
                result = writer.write(target, batch, rows)
                position, rows = result.position, rows + result.rows
                now = bytes_done(chunk, position.offset)
                self._stats.add_batch(job.key, result, now - done)
                done = now
                if result.conflicts or result.bad_rows:
                    self._budget_step(target, result, self._budget.charge)
        self._store.finish_chunk(self._task_id, chunk.key, ChunkProgress(position, rows), token)
        self._stats.add_source_bytes(chunk_size(chunk) - done)
        fault_point("chunk-finished")

    def _load_data_target(self, job: TableJob, data_file: DataFile, columns: tuple[str, ...] | None,
                          charset: str) -> LoadDataTarget | None:
        """How this chunk's batches go as LOAD DATA, or None for INSERT (Parquet, CSV tables with BIT); a SQL
        chunk's batches go as LOAD DATA when each one proves it may (:meth:`_sql_request`)."""
        if self._load_data and data_file.format == "sql":
            tidb = self._config.tidb
            return LoadDataTarget(b"", _same_rows, f"{tidb.host}:{tidb.port}",
                                  partial(self._sql_request, job, charset))
        if not self._load_data or data_file.format != "csv":
            return None
        encoder = self._encoder_for(job, columns)
        if not usable_for(encoder.column_kinds):
            return None
        statement = load_statement(self._config.duplicate_mode, job.schema, job.table, columns, charset,
                                   self._terminator, no_backslash_escapes=encoder.no_backslash_escapes)
        tidb = self._config.tidb
        return LoadDataTarget(statement, partial(self._read_again, data_file, columns, encoder),
                              f"{tidb.host}:{tidb.port}")

    def _read_again(self, data_file: DataFile, columns: tuple[str, ...] | None, encoder: RowEncoder,
                    batch: RowBatch) -> RowBatch:
        """A LOAD DATA batch's rows read again from the file as INSERT tuples (the server did not take it whole)."""
        with open_data(data_file, self._config.mydumper) as stream:
            skip_to(stream, batch.first_offset, path=data_file.relative)
            reader = CSVReader(stream, path=data_file.relative, csv=self._config.mydumper.csv,
                               start=batch.first_offset, end=batch.end.offset, columns=columns, encoder=encoder,
                               block_size=self._block_size)
            return next(reader.batches(1 << 62, 1 << 62))

    def _sql_request(self, job: TableJob, charset: str, batch: RowBatch) -> tuple[bytes, bytes] | None:
        """A SQL batch's LOAD DATA statement and stream, or None for INSERT (see ``backend/tidb/sql_load_data.py``)."""
        key = (job.key, batch.columns, charset)
        with self._lock:
            if key not in self._sql_rows:
                self._sql_rows[key] = self._sql_rows_for(job, batch.columns, charset)
            rows = self._sql_rows[key]
        return rows.request(batch) if rows is not None else None

    def _sql_rows_for(self, job: TableJob, columns: tuple[str, ...] | None, charset: str) -> SQLRows | None:
        """How a SQL dump's rows for ``columns`` go as LOAD DATA, or None (a BIT column, an unknown column)."""
        table_cols = self._table_columns.get(job.key, [])
        types = {name.lower(): data_type for name, data_type in table_cols}
        names = [name for name, _ in table_cols] if columns is None else list(columns)
        if not names or any(c.lower() not in types for c in names):
            return None
        if not usable_for([column_kind(types[c.lower()]) for c in names]):
            return None
        statements = {quote: sql_load_statement(self._config.duplicate_mode, job.schema, job.table, columns, charset,
                                                quote) for quote in (b"'", b'"')}
        try:
            return SQLRows(statements, [number_class(types[c.lower()]) for c in names])
        except PatternTooLarge:  # a proof for thousands of columns: their batches go as INSERT
            return None

    @property
    def _terminator(self) -> bytes:
        return field_terminator(self._config.mydumper.csv.separator)

    def _admit(self, target: ChunkTarget, result: BatchResult) -> None:
        """Before COMMIT: refuse a batch whose bad rows or conflicts would break the error budget.

        Bad rows are always in a transaction, so a refused batch leaves nothing. Duplicates counted
        by REPLACE / INSERT IGNORE in one statement are, with the ``file`` store or checkpoints off,
        already committed (autocommit): the import stops all the same and the rerun sends them again.
        """
        if result.conflicts or result.bad_rows:
            self._budget_step(target, result, self._budget.check)

    def _budget_step(self, target: ChunkTarget, result: BatchResult, step: Callable[[str, int], None]) -> None:
        """Check (before COMMIT) or charge (after) a batch's bad rows and conflicts; stop the import past the
        budget. Another writer may charge between one batch's check and its charge, so the charge can still
        stop the import, with the batch committed and counted.

        The error names the row that went over the limit (or, for duplicates counted in a whole
        batch by REPLACE / INSERT IGNORE, the batch's first row).
        """
        by_kind: dict[str, list[BadRow]] = {}
        for bad in result.bad_rows:
            by_kind.setdefault(bad.kind, []).append(bad)
        batch_conflicts = result.conflicts - len(by_kind.get("conflict", ()))
        try:
            if batch_conflicts:
                step("conflict", batch_conflicts)
        except BudgetExceeded as exceeded:
            raise ImportFailed(
                f"table {target.table_key}: {batch_conflicts} duplicate key(s) in {target.path} in the batch from "
                f"byte offset {result.first_offset}; {exceeded} — the import stops here",
                table=target.table_key, path=target.path, offset=result.first_offset,
            ) from None
        for kind, rows in by_kind.items():
            try:
                step(kind, len(rows))
            except BudgetExceeded as exceeded:
                over = rows[len(rows) - exceeded.over]
                raise ImportFailed(
                    f"table {target.table_key}: {kind} error in {target.path} at byte offset {over.offset}: "
                    f"{over.error}; {exceeded} — the import stops here",
                    table=target.table_key, path=target.path, offset=over.offset, server_error=over.error,
                ) from None

    def _prefix_for(self, job: TableJob) -> Callable[[tuple[str, ...] | None], bytes]:
        """The table's ``INSERT ... VALUES`` prefix per column list, built once per table."""
        with self._lock:
            prefix = self._prefixes.get(job.key)
            if prefix is None:
                prefix = self._prefixes[job.key] = lru_cache(maxsize=64)(
                    partial(insert_prefix, self._config.statement_mode, job.schema, job.table))
            return prefix

    def _encoder_for(self, job: TableJob, columns: tuple[str, ...] | None) -> RowEncoder:
        """The CSV encoder of a table for a header's columns: each value quoted as its column's type needs."""
        key = (job.key, columns)
        with self._lock:
            encoder = self._encoders.get(key)
            if encoder is None:
                table_cols = self._table_columns.get(job.key, [])
                types = {name.lower(): data_type for name, data_type in table_cols}
                if columns is None:
                    kinds = [column_kind(data_type) for _, data_type in table_cols] or None
                else:
                    unknown = [c for c in columns if c.lower() not in types]
                    if unknown:
                        raise SchemaError(f"the CSV header or Parquet file names column(s) {', '.join(unknown)} that "
                                          "the target table does not have", table=job.key)
                    kinds = [column_kind(types[c.lower()]) for c in columns]
                no_backslash = self._sql_mode_has("NO_BACKSLASH_ESCAPES")
                encoder = self._encoders[key] = RowEncoder(kinds, no_backslash_escapes=no_backslash)
            return encoder

    def _sql_mode_has(self, *modes: str) -> bool:
        """Whether the sessions' ``sql_mode`` (``tidb.sql-mode``) has one of ``modes``:
        ``NO_BACKSLASH_ESCAPES`` (a backslash is an ordinary character) and ``ANSI_QUOTES`` (``"..."``
        names a column) change how literals must be written."""
        return not set(modes).isdisjoint((self._config.tidb.sql_mode or "").upper().replace(" ", "").split(","))

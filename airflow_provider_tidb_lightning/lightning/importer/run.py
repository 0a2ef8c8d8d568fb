"""Run an import: discover, plan, create the schema, write every chunk, keep the checkpoint.

The data phase runs ``region-concurrency`` writer threads, each with its own connection, taking
chunks from at most ``table-concurrency`` tables at a time. Threads fit the work: a writer spends
most of its time waiting for the server, with the GIL released, while another parses its next
batch in C-level regex and bytes operations.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from functools import lru_cache, partial

import pymysql

from ..backend.tidb.encoder import RowEncoder, column_kind, insert_prefix
from ..backend.tidb.writer import BatchWriter, ChunkJob, Session, WriteContext
from ..checkpoints import CheckpointStore, open_store
from ..checkpoints.model import TABLE_DONE, TABLE_FAILED, TABLE_PENDING, TABLE_SCHEMA, ChunkCheckpoint, TaskCheckpoint
from ..common.connection import connect
from ..common.failpoint import fault_point
from ..config.model import TaskConfig
from ..errormanager.records import ErrorBudget, ErrorRecorder
from ..errors import CheckpointError, ImportCancelled, ImportFailed, SchemaError, SourceError
from ..mydump.compression import open_source, skip_to
from ..mydump.csv_parser import CSVReader, read_csv_header
from ..mydump.discovery import discover
from ..mydump.layout import Chunk, DataFile
from ..mydump.sql_parser import SQLReader, sniff_set_names, sniff_time_zone
from .plan import Plan, TableJob, build_plan, check_resumable, derive_task_id
from .progress import ProgressReporter
from .summary import ImportSummary, TableSummary
from .target_schema import create_database, create_table, create_view, table_columns, table_exists, table_identity

_CHARSETS = {"binary": "binary", "auto": "binary", "utf8mb4": "utf8mb4", "utf8": "utf8mb4", "gbk": "gbk",
             "gb18030": "gb18030", "latin1": "latin1", "ascii": "ascii"}
_PLAIN_NAME = re.compile(r"^\w+$")
_UNLIMITED = 1 << 62


def run_import(config: TaskConfig, *, task_id: str | None = None, cancel: threading.Event | None = None,
               logger: logging.Logger | None = None) -> ImportSummary:
    """Import ``config.mydumper.data_source_dir`` into ``config.tidb``; see the module docstring.

    ``task_id`` names the checkpoint: the same id resumes. ``cancel.set()`` stops the writers after
    their current batch and raises :class:`ImportCancelled`.
    """
    log = logger or logging.getLogger("airflow_provider_tidb_lightning")
    layout = discover(config.mydumper, config.routes)
    plan = build_plan(layout, config)
    task_id = task_id or derive_task_id(config)
    store = open_store(config.checkpoint, lambda: connect(config.tidb))
    try:
        return _Import(config, plan, task_id, store, log, cancel or threading.Event()).run()
    finally:
        store.close()


@dataclass(frozen=True)
class _FileFacts:
    session: Session
    columns: tuple[str, ...] | None  # CSV header columns, when they name the INSERT's columns
    header_end: int  # where a CSV file's data starts


class _Import:
    def __init__(self, config: TaskConfig, plan: Plan, task_id: str, store: CheckpointStore,
                 log: logging.Logger, cancel: threading.Event) -> None:
        self.config = config
        self.plan = plan
        self.task_id = task_id
        self.store = store
        self.log = log
        self.user_cancel = cancel
        self.stop = threading.Event()
        self.mode = config.duplicate_mode
        self.started = time.monotonic()
        self.resumed = False
        self.task: TaskCheckpoint
        self._facts: dict[str, _FileFacts] = {}
        self._prefixes: dict[str, Callable[[tuple[str, ...] | None], bytes]] = {}
        self._encoders: dict[tuple[str, tuple[str, ...] | None], RowEncoder] = {}
        self._table_columns: dict[str, list[tuple[str, str]]] = {}
        self._lock = threading.Lock()

    # -- phases ----------------------------------------------------------------------------------

    def run(self) -> ImportSummary:
        self.log.info("task %s: %d table(s), %d chunk(s), %d view(s), on-duplicate = %s", self.task_id,
                      len(self.plan.tables), sum(len(t.chunks) for t in self.plan.tables), len(self.plan.views),
                      self.mode)
        # Short-lived admin connections: one idle through an hours-long data phase could time out.
        with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
            self._load_checkpoint()
            self.recorder = ErrorRecorder(self.config.lightning.task_info_schema_name, self.task_id,
                                          self.config.conflict.max_record_rows)
            self.recorder.ensure_tables(cur)
            self.budget = ErrorBudget.from_config(self.config.lightning.max_error, self._conflict_limit())
            self.budget.used.update(self.recorder.count_existing(cur))
            self.max_statement = self._max_statement(cur)
            self._create_schema(cur)
        self._write_data()
        if not self.config.mydumper.no_schema and self.plan.views:
            with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
                for view in self.plan.views:
                    create_view(cur, view)
        fault_point("task-finished")
        self._keep_after_success()
        summary = self._summary()
        self.log.info("import finished: %d rows, %.1f MB in %.1f s", summary.total_rows, summary.total_bytes / 1e6,
                      summary.seconds)
        return summary

    def _load_checkpoint(self) -> None:
        new = self.plan.new_checkpoint(self.task_id)
        saved = self.store.load(self.task_id)
        if saved is None:
            self.store.create(new)
            self.task = new
            return
        check_resumable(saved, self.plan, new)
        self.task = saved
        self.resumed = True
        done = sum(1 for t in saved.tables.values() if t.status == TABLE_DONE)
        self.log.info("task %s: resuming from its checkpoint (%d of %d table(s) already done)", self.task_id, done,
                      len(saved.tables))

    def _conflict_limit(self) -> int:
        """Conflicts tolerated: none with strategy "error"; ``threshold`` only when [conflict] strategy is set."""
        if self.mode == "error":
            return 0
        return self.config.conflict.threshold if self.config.conflict.strategy else _UNLIMITED

    def _max_statement(self, cur) -> int:
        cur.execute("SELECT @@max_allowed_packet")
        server = int(cur.fetchone()[0])
        return min(server, int(self.config.tidb.max_allowed_packet)) - 1024

    def _create_schema(self, cur) -> None:
        no_schema = self.config.mydumper.no_schema
        if not no_schema:
            for database in self.plan.databases:
                create_database(cur, database)
        missing = []
        for job in self.plan.tables:
            state = self.task.tables[job.key]
            if state.status == TABLE_PENDING:
                if no_schema:
                    if not table_exists(cur, job.schema, job.table):
                        missing.append(job.key)
                        continue
                else:
                    create_table(cur, job.schema_source)
                state.status = TABLE_SCHEMA
                state.target_id = table_identity(cur, job.schema, job.table)
                self.store.save_table(self.task_id, state)
            else:
                current = table_identity(cur, job.schema, job.table)
                if current != state.target_id:
                    raise CheckpointError(
                        f"table {job.key} was dropped or recreated since the checkpoint of task {self.task_id} was "
                        f"saved ({state.target_id or 'none'} then, {current or 'missing'} now): the rows the "
                        f"checkpoint counts as written are gone. Import it again from the start with "
                        f"tidb-lightning-py-ctl --checkpoint-remove='{job.key}'"
                    )
            if any(c.file.format == "csv" for c in job.chunks):
                self._table_columns[job.key] = table_columns(cur, job.schema, job.table)
        if missing:
            raise SchemaError(f"mydumper.no-schema is set but these target tables do not exist: {', '.join(missing)}")

    # -- data ------------------------------------------------------------------------------------

    def _write_data(self) -> None:
        pending = [(job, chunk) for job in self.plan.tables for chunk in job.chunks
                   if self.task.tables[job.key].status != TABLE_DONE and not self.task.chunks[chunk.key].finished]
        self._remaining = {job.key: sum(1 for j, _ in pending if j is job) for job in self.plan.tables}
        for job in self.plan.tables:  # tables whose chunks all finished before a crash
            if self._remaining[job.key] == 0 and self.task.tables[job.key].status != TABLE_DONE:
                self._table_done(job)
        if not pending:
            return
        scheduler = _Scheduler(pending, self.config.lightning.table_concurrency, self.stop)
        transactional = self.store.transactional
        ctx = WriteContext(
            mode=self.mode,
            connect=lambda: self._writer_connection(autocommit=not transactional),
            store=self.store, task_id=self.task_id, budget=self.budget, recorder=self.recorder,
            count_conflicts=bool(self.config.conflict.strategy), max_statement=self.max_statement,
            cancel=self.stop,
        )
        errors: list[tuple[TableJob | None, BaseException]] = []
        workers = [threading.Thread(target=self._worker, args=(scheduler, ctx, errors), name=f"lightning-writer-{i}",
                                    daemon=True)
                   for i in range(max(1, min(self.config.lightning.region_concurrency, len(pending))))]
        with ProgressReporter(self._progress, self.log):
            for w in workers:
                w.start()
            for w in workers:
                while w.is_alive():
                    w.join(0.2)
                    if self.user_cancel.is_set():
                        self.stop.set()
        if errors:
            self._fail(errors)
        if self.user_cancel.is_set():
            raise ImportCancelled(f"task {self.task_id}: import cancelled; the checkpoint is consistent, rerun to "
                                  "resume")

    def _writer_connection(self, *, autocommit: bool) -> pymysql.Connection:
        """A writer's connection. Foreign key checks are off, as in myloader and mysqldump restores:
        tables load in parallel and in any order, and the dump was consistent at its source. Set
        ``foreign_key_checks`` in ``[tidb] session-vars`` to decide otherwise."""
        tidb = self.config.tidb
        if "foreign_key_checks" not in {name.lower() for name in tidb.session_vars}:
            tidb = replace(tidb, session_vars={"foreign_key_checks": 0, **tidb.session_vars})
        return connect(tidb, autocommit=autocommit)

    def _worker(self, scheduler: _Scheduler, ctx: WriteContext, errors: list) -> None:
        writer = BatchWriter(ctx)
        try:
            while not self.stop.is_set():
                item = scheduler.next()
                if item is None:
                    return
                job, chunk = item
                try:
                    self._write_chunk(writer, job, chunk)
                except BaseException as exc:  # noqa: BLE001 - every failure stops the import and is re-raised
                    with self._lock:
                        errors.append((job, exc))
                    self.stop.set()
                    return
                if scheduler.finished(job):
                    self._table_done(job)
        finally:
            writer.close()

    def _write_chunk(self, writer: BatchWriter, job: TableJob, chunk: Chunk) -> None:
        state = self.task.chunks[chunk.key]
        data_file = chunk.file
        cfg = self.config
        facts = self._file_facts(data_file)
        chunk_job = ChunkJob(job.key, self._prefix_for(job), data_file.relative, facts.session, state, job.stats)
        with open_source(data_file.path, data_file.compression) as stream:
            if data_file.format == "sql":
                skip_to(stream, state.position.offset, path=data_file.relative)
                reader = SQLReader(stream, path=data_file.relative, start=chunk.start, end=chunk.end,
                                   resume=state.position, block_size=max(cfg.mydumper.read_block_size, 1 << 20))
            else:
                if state.position.offset < facts.header_end:
                    state.position.offset = facts.header_end
                skip_to(stream, state.position.offset, path=data_file.relative)
                reader = CSVReader(stream, path=data_file.relative, csv=cfg.mydumper.csv, start=state.position.offset,
                                   end=chunk.end, columns=facts.columns, encoder=self._encoder_for(job, facts.columns),
                                   block_size=max(cfg.mydumper.read_block_size, 1 << 20))
            for batch in reader.batches(self._batch_bytes(), cfg.tikv_importer.logical_import_batch_rows):
                if self.stop.is_set():
                    raise ImportCancelled("stopped")
                writer.write(chunk_job, batch)
        self.store.finish_chunk(self.task_id, state)
        fault_point("chunk-finished")

    def _batch_bytes(self) -> int:
        return max(1, min(self.config.tikv_importer.logical_import_batch_size, self.max_statement - 65536))

    def _prefix_for(self, job: TableJob) -> Callable[[tuple[str, ...] | None], bytes]:
        """The table's ``INSERT ... VALUES`` prefix per column list, built once per table."""
        with self._lock:
            prefix = self._prefixes.get(job.key)
            if prefix is None:
                prefix = self._prefixes[job.key] = lru_cache(maxsize=64)(
                    partial(insert_prefix, self.mode, job.schema, job.table))
            return prefix

    def _file_facts(self, data_file: DataFile) -> _FileFacts:
        """What the head of a data file says, read once per file however many chunks it has."""
        with self._lock:
            facts = self._facts.get(data_file.relative)
        if facts is None:
            facts = self._read_file_facts(data_file)
            with self._lock:
                self._facts[data_file.relative] = facts
        return facts

    def _read_file_facts(self, data_file: DataFile) -> _FileFacts:
        """The session a file's values need (the dump's own ``SET NAMES`` / ``SET TIME_ZONE``, else the
        config's) and, for CSV with a header, its columns and where the data starts."""
        charset = time_zone = None
        columns: tuple[str, ...] | None = None
        header_end = 0
        csv = self.config.mydumper.csv
        with open_source(data_file.path, data_file.compression) as stream:
            if data_file.format == "sql":
                head = stream.read(65536)
                charset, time_zone = sniff_set_names(head), sniff_time_zone(head)
            elif csv.header:
                header, header_end = read_csv_header(stream, path=data_file.relative, csv=csv)
                columns = header if csv.header_schema_match else None
        if charset is None:
            charset = _CHARSETS.get(self.config.mydumper.data_character_set.lower(), "binary")
        if not _PLAIN_NAME.match(charset):
            raise SourceError(f"unsupported character set {charset!r} in SET NAMES", path=data_file.relative, offset=0)
        return _FileFacts(Session(charset, time_zone), columns, header_end)

    def _encoder_for(self, job: TableJob, columns: tuple[str, ...] | None) -> RowEncoder:
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
                        raise SchemaError(f"the CSV header names column(s) {', '.join(unknown)} that the target "
                                          "table does not have", table=job.key)
                    kinds = [column_kind(types[c.lower()]) for c in columns]
                no_backslash = "NO_BACKSLASH_ESCAPES" in (self.config.tidb.sql_mode or "").upper()
                encoder = self._encoders[key] = RowEncoder(kinds, no_backslash_escapes=no_backslash)
            return encoder

    def _table_done(self, job: TableJob) -> None:
        state = self.task.tables[job.key]
        state.status = TABLE_DONE
        self.store.save_table(self.task_id, state)
        self.log.info("table %s: done (%d rows this run)", job.key, job.stats.rows)
        fault_point("table-finished")

    def _fail(self, errors: list[tuple[TableJob | None, BaseException]]) -> None:
        """Re-raise the first real error; data errors also mark their table failed in the checkpoint."""
        real = [(job, exc) for job, exc in errors if not isinstance(exc, ImportCancelled)] or errors
        job, exc = real[0]
        data_problem = isinstance(exc, SourceError | SchemaError) or (
            isinstance(exc, ImportFailed) and exc.data_error)
        if job is not None and data_problem:
            state = self.task.tables[job.key]
            state.status = TABLE_FAILED
            state.error = str(exc)[:2000]
            try:
                self.store.save_table(self.task_id, state)
            except (pymysql.err.MySQLError, OSError) as save_error:
                self.log.warning("could not mark table %s failed in the checkpoint: %s", job.key, save_error)
        if isinstance(exc, ImportCancelled) and self.user_cancel.is_set():
            raise ImportCancelled(f"task {self.task_id}: import cancelled; the checkpoint is consistent, rerun to "
                                  "resume") from None
        raise exc

    def _keep_after_success(self) -> None:
        if not self.config.checkpoint.enable:
            return
        keep = self.config.checkpoint.keep_after_success
        if keep == "remove":
            self.store.remove(self.task_id)
        elif keep == "rename":
            self.store.rename(self.task_id, f"{self.task_id}.done-{time.strftime('%Y%m%dT%H%M%S')}")

    # -- reporting -------------------------------------------------------------------------------

    def _progress(self) -> tuple[int, int, int]:
        rows = sum(job.stats.rows for job in self.plan.tables)
        done = total = 0
        for job in self.plan.tables:
            for chunk in job.chunks:
                state: ChunkCheckpoint = self.task.chunks[chunk.key]
                size = _chunk_size(chunk)
                total += size
                if state.finished:
                    done += size
                elif not chunk.file.compression:
                    done += max(0, state.position.offset - chunk.start)
        return rows, done, total

    def _summary(self) -> ImportSummary:
        tables = []
        for job in self.plan.tables:
            s = job.stats
            seconds = (s.last_write - s.first_write) if s.first_write is not None and s.last_write is not None else 0.0
            status = "done" if s.first_write is not None or not self.resumed else "skipped"
            tables.append(TableSummary(job.key, status, s.rows, s.bytes, seconds, s.skipped, s.type_errors,
                                       s.conflicts))
        return ImportSummary(self.task_id, tables, time.monotonic() - self.started, self.resumed)


def _chunk_size(chunk: Chunk) -> int:
    end = chunk.end if chunk.end is not None else chunk.file.size
    return max(0, end - chunk.start) if not chunk.file.compression else chunk.file.size


class _Scheduler:
    """Hands out chunks from at most ``table_concurrency`` tables at once.

    A writer that finds every open table fully handed out waits for a table to finish rather than
    opening another one: that is what ``table-concurrency`` promises the target.
    """

    def __init__(self, pending: list[tuple[TableJob, Chunk]], table_concurrency: int,
                 stop: threading.Event) -> None:
        self._queues: dict[str, list[Chunk]] = {}
        self._jobs: dict[str, TableJob] = {}
        for job, chunk in pending:
            self._queues.setdefault(job.key, []).append(chunk)
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
                        return self._jobs[key], self._queues[key].pop(0)
                if len(self._open) < self._limit:
                    for key, queue in self._queues.items():
                        if queue and key not in self._open:
                            self._open.append(key)
                            return self._jobs[key], queue.pop(0)
                if not any(self._queues.values()):
                    return None
                self._cond.wait(0.2)
            return None

    def finished(self, job: TableJob) -> bool:
        """Count one finished chunk of ``job``; True when it was the table's last."""
        with self._cond:
            self._left[job.key] -= 1
            if self._left[job.key] == 0:
                self._open.remove(job.key)
                self._cond.notify_all()
                return True
            return False

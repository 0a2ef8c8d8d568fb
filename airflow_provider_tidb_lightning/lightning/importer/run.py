"""Run an import: its phases, its writer threads and what happens when one of them fails.

The phases follow tidb-lightning's importer: load or create the checkpoint, prepare the error
records and budget, the schema step of every table (:mod:`.table_step`), the data phase, views,
and what to keep of the checkpoint. The data phase runs ``region-concurrency`` writer threads,
each with its own connection, taking chunks (:mod:`.scheduler`) from at most
``table-concurrency`` tables at a time and writing each with :mod:`.chunk_step`. Threads fit the
work: a writer spends most of its time waiting for the server, with the GIL released, while
another parses its next batch in C-level regex and bytes operations.

Where state lives: the plan is frozen; table statuses belong to the table step, chunk progress
to the thread writing the chunk (and the store), counts to :class:`~.stats.RunStats`.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import closing
from dataclasses import replace
from functools import partial
from typing import Any

import pymysql

from ..backend.tidb.load_data import insert_fallback, local_infile_off, refused_message
from ..backend.tidb.writer import BatchWriter, WriteContext
from ..checkpoints import CheckpointStore
from ..checkpoints.finished import record_finished, recorded_summary
from ..checkpoints.model import TableStatus, TaskCheckpoint
from ..common.connection import connect
from ..common.failpoint import fault_point
from ..common.server_info import detect_server
from ..config.model import LogicalImportMethod, TaskConfig, TidbSection
from ..errormanager.records import ErrorBudget, ErrorRecorder
from ..errors import CheckpointError, ConfigError, ImportCancelled, ImportFailed, SchemaError, SourceError
from ..mydump.discovery import discover
from ..mydump.storage import open_storage
from .chunk_step import ChunkStep, bytes_done, chunk_size
from .failures import close_after_failure, open_checkpoint_store
from .plan import Plan, TableJob, build_plan, check_resumable, derive_task_id
from .progress import ProgressReporter
from .refresh import SwapRefresh, plan_for
from .scheduler import Scheduler
from .stats import RunStats
from .summary import ImportSummary
from .table_step import TableStep
from .target_schema import create_view

_UNLIMITED = 1 << 62
_PACKET_SLACK = 1024  # room in max_allowed_packet for the packet header and the statement's prefix


def run_import(config: TaskConfig, *, task_id: str | None = None, cancel: threading.Event | None = None,
               logger: logging.Logger | None = None, keep_summary: bool = False,
               filesystem: Any | None = None) -> ImportSummary:
    """Import ``config.mydumper.data_source_dir`` into ``config.tidb``; see the module docstring.

    ``task_id`` names the checkpoint: the same id resumes. ``cancel.set()`` stops the writers after
    their current batch and raises :class:`ImportCancelled`. ``keep_summary`` (the operator's
    exactly once across retries, mysql checkpoints only) records the summary before the checkpoint
    is cleaned up, and returns a recorded summary instead of importing again (:mod:`..checkpoints.finished`).
    ``filesystem`` is an fsspec filesystem holding the credentials of an object storage source (the
    operator's ``source_conn_id``); without it they come from the URL (:mod:`..mydump.storage`).
    """
    log = logger or logging.getLogger("airflow_provider_tidb_lightning")
    task_id = task_id or derive_task_id(config)
    if keep_summary:
        recorded = _recorded_summary(config, task_id)
        if recorded is not None:
            log.info("task %s finished in an earlier try (%d rows): returning its summary, writing nothing", task_id,
                     recorded.total_rows)
            return recorded
    storage = open_storage(config.mydumper.data_source_dir, filesystem=filesystem, cancel=cancel)
    layout = discover(config.mydumper, config.routes, storage)
    plan, swap = plan_for(config, build_plan(layout, config), task_id, log)
    store = open_checkpoint_store(config)
    try:
        summary = _Import(config, plan, task_id, store, log, cancel or threading.Event(), swap, keep_summary).run()
    except BaseException:
        close_after_failure(store, log)
        raise
    store.close()
    return summary


def _recorded_summary(config: TaskConfig, task_id: str) -> ImportSummary | None:
    if not (config.checkpoint.enable and config.checkpoint.driver == "mysql"):
        raise ConfigError("a finished record (keep_summary) needs [checkpoint] enable = true and driver = \"mysql\"",
                          key="checkpoint.driver")
    with closing(connect(config.tidb)) as admin, admin.cursor() as cur:
        recorded = recorded_summary(cur, config.checkpoint.schema, task_id)
    return None if recorded is None else ImportSummary.from_dict(recorded)


def _connect_writer(tidb: TidbSection, autocommit: bool, local_infile: bool = False) -> pymysql.Connection:
    return connect(tidb, autocommit=autocommit, local_infile=local_infile)


class _Import:
    def __init__(self, config: TaskConfig, plan: Plan, task_id: str, store: CheckpointStore,
                 log: logging.Logger, cancel: threading.Event, swap: SwapRefresh | None = None,
                 keep_summary: bool = False) -> None:
        self.config = config
        self.swap = swap  # refresh mode "swap": the plan loads shadow tables, swapped in after the data
        self.plan = plan
        self.task_id = task_id
        self.store = store
        self.log = log
        self.user_cancel = cancel
        self.keep_summary = keep_summary
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.resumed = False
        self.load_data = False  # CSV batches go as LOAD DATA: asked for, and the server can

    def run(self) -> ImportSummary:
        self.log.info("task %s: %d table(s), %d chunk(s), %d view(s), on-duplicate = %s", self.task_id,
                      len(self.plan.tables), sum(len(t.chunks) for t in self.plan.tables), len(self.plan.views),
                      self.config.duplicate_mode)
        task = self._load_checkpoint()
        self.tables = TableStep(self.store, self.task_id, task.tables, self.log, self.swap)
        self.stats = RunStats((job.key for job in self.plan.tables), done_bytes=self._bytes_done(task),
                              total_bytes=sum(chunk_size(c) for job in self.plan.tables for c in job.chunks))
        # Short-lived admin connections: one idle through an hours-long data phase could time out.
        with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
            recorder = ErrorRecorder(self.config.lightning.task_info_schema_name, self.task_id,
                                     self.config.conflict.max_record_rows)
            recorder.ensure_tables(cur)
            budget = ErrorBudget.from_config(self.config.lightning.max_error, self._conflict_limit())
            budget.used.update(recorder.count_existing(cur))
            max_statement = self._max_statement(cur)
            csv_columns = self.tables.create_schema(cur, self.plan, no_schema=self.config.mydumper.no_schema,
                                                    charset=self.config.mydumper.character_set)
            self.load_data = self._use_load_data(admin, cur)
        chunks = ChunkStep(self.config, self.store, self.task_id, stats=self.stats, budget=budget,
                           table_columns=csv_columns, max_statement=max_statement, stop=self.stop,
                           load_data=self.load_data)
        ctx = WriteContext(mode=self.config.duplicate_mode, connect=self._writer_connection, recorder=recorder,
                           max_statement=max_statement, cancel=self.stop)
        try:
            self._write_data(task, chunks, ctx)
        finally:
            recorder.log_details(self.log, budget)  # names the tables holding this run's records, failed or not
        if self.swap is not None:  # before the views, so they are created against the new tables
            self.swap.swap_in(lambda: connect(self.config.tidb), self.store, self.stats)
        if not self.config.mydumper.no_schema and self.plan.views:
            with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
                for view in self.plan.views:
                    create_view(cur, view, self.config.mydumper.character_set)
        fault_point("task-finished")
        summary = ImportSummary(self.task_id, self.stats.summaries(self.resumed), time.monotonic() - self.started,
                                self.resumed)
        if self.keep_summary:  # before the checkpoint goes: from here on a retry finds one or the other
            with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
                record_finished(cur, self.config.checkpoint.schema, self.task_id, summary.to_dict())
        self._keep_after_success()
        self.log.info("import finished: %d rows, %.1f MB in %.1f s", summary.total_rows, summary.total_bytes / 1e6,
                      summary.seconds)
        return summary

    def _load_checkpoint(self) -> TaskCheckpoint:
        new = self.plan.new_checkpoint(self.task_id)
        saved = self.store.load(self.task_id)
        if saved is None:
            self.store.create(new)
            return new
        check_resumable(saved, self.plan, new)
        self.resumed = True
        done = sum(1 for t in saved.tables.values() if t.status == TableStatus.DONE)
        self.log.info("task %s: resuming from its checkpoint (%d of %d table(s) already done)", self.task_id, done,
                      len(saved.tables))
        return saved

    def _bytes_done(self, task: TaskCheckpoint) -> int:
        """Source bytes an earlier run finished, so the progress line starts where it stands."""
        done = 0
        for job in self.plan.tables:
            for chunk in job.chunks:
                progress = task.chunks[chunk.key].progress
                done += chunk_size(chunk) if progress.finished else bytes_done(chunk, progress.position.offset)
        return done

    def _conflict_limit(self) -> int:
        """Conflicts tolerated: none with strategy "error"; ``threshold`` only when [conflict] strategy is set."""
        if self.config.duplicate_mode == "error":
            return 0
        return self.config.conflict.threshold if self.config.conflict.strategy else _UNLIMITED

    def _use_load_data(self, admin: pymysql.Connection, cur: Any) -> bool:
        """``logical-import-method = "load-data"``: whether this server takes it (an old TiDB gets INSERT, with a
        warning); a server with ``local_infile`` off stops the import before any row is sent."""
        if self.config.tikv_importer.logical_import_method != LogicalImportMethod.LOAD_DATA:
            return False
        fallback = insert_fallback(detect_server(admin))
        if fallback is not None:
            self.log.warning(fallback)
            return False
        if local_infile_off(cur):
            tidb = self.config.tidb
            raise ImportFailed(refused_message(f"{tidb.host}:{tidb.port}", "local_infile = OFF"), data_error=False)
        return True

    def _max_statement(self, cur: Any) -> int:
        cur.execute("SELECT @@max_allowed_packet")
        server = int(cur.fetchone()[0])
        return min(server, int(self.config.tidb.max_allowed_packet)) - _PACKET_SLACK

    # -- data ------------------------------------------------------------------------------------

    def _write_data(self, task: TaskCheckpoint, chunks: ChunkStep, ctx: WriteContext) -> None:
        pending = [(job, chunk) for job in self.plan.tables for chunk in job.chunks
                   if self.tables.status(job.key) != TableStatus.DONE and not task.chunks[chunk.key].progress.finished]
        waiting = {job.key for job, _ in pending}
        for job in self.plan.tables:  # tables whose chunks all finished before a crash
            if job.key not in waiting and self.tables.status(job.key) != TableStatus.DONE:
                self.tables.done(job, 0)
        if not pending:
            return
        scheduler = Scheduler(pending, self.config.lightning.table_concurrency, self.stop)
        errors: list[tuple[TableJob | None, BaseException]] = []
        workers = [threading.Thread(target=self._worker, args=(scheduler, chunks, ctx, task, errors),
                                    name=f"lightning-writer-{i}", daemon=True)
                   for i in range(max(1, min(self.config.lightning.region_concurrency, len(pending))))]
        with ProgressReporter(self.stats.progress, self.log):
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

    def _writer_connection(self) -> pymysql.Connection:
        """A writer's connection, in the mode the checkpoint store commits batches in.

        Foreign key checks are off, as in myloader and mysqldump restores: tables load in parallel
        and in any order, and the dump was consistent at its source. Set ``foreign_key_checks`` in
        ``[tidb] session-vars`` to decide otherwise."""
        tidb = self.config.tidb
        if "foreign_key_checks" not in {name.lower() for name in tidb.session_vars}:
            tidb = replace(tidb, session_vars={"foreign_key_checks": 0, **tidb.session_vars})
        return self.store.writer_connection(partial(_connect_writer, tidb, local_infile=self.load_data))

    def _worker(self, scheduler: Scheduler, chunks: ChunkStep, ctx: WriteContext, task: TaskCheckpoint,
                errors: list[tuple[TableJob | None, BaseException]]) -> None:
        writer = BatchWriter(ctx)
        try:
            while not self.stop.is_set():
                item = scheduler.next()
                if item is None:
                    return
                job, chunk = item
                try:
                    chunks.write(writer, job, chunk, task.chunks[chunk.key].progress)
                except BaseException as exc:  # noqa: BLE001 - every failure stops the import and is re-raised
                    errors.append((job, exc))  # list.append is atomic; read only after every thread ended
                    self.stop.set()
                    return
                if scheduler.finished(job):
                    self.tables.done(job, self.stats.table_rows(job.key))
        finally:
            writer.close()

    def _fail(self, errors: list[tuple[TableJob | None, BaseException]]) -> None:
        """Re-raise the first real error; data errors also mark their table failed in the checkpoint."""
        real = [(job, exc) for job, exc in errors if not isinstance(exc, ImportCancelled)] or errors
        job, exc = real[0]
        data_problem = isinstance(exc, SourceError | SchemaError) or (
            isinstance(exc, ImportFailed) and exc.data_error)
        if job is not None and data_problem:
            try:
                self.tables.failed(job, exc)
            except (pymysql.err.MySQLError, OSError, CheckpointError) as save_error:
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

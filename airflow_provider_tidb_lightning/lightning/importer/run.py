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

With ``[checkpoint] shared = true`` any number of processes started with the same task id share
the import (see docs/scale-out.md): chunks are claimed in the checkpoint tables with leases
(:class:`~.scheduler.ClaimScheduler`), the schema step and the finish (views, what to keep of the
checkpoint) run once, by whoever claims them, and a process leaves the data phase only when no
chunk is left, so the last ones alive take over the chunks of a worker that died. The summary of
every process says what it wrote and what the whole import wrote (read from the checkpoint).
"""


from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from typing import Any

import pymysql

from ..backend.tidb.load_data import insert_fallback, local_infile_off, refused_message
from ..backend.tidb.writer import BatchWriter, WriteContext
from ..checkpoints import CheckpointStore
from ..checkpoints.finished import record_finished, recorded_summary
from ..checkpoints.model import WORKER_STEP, Outlook, StepState, TableStatus, TaskCheckpoint
from ..checkpoints.store import LostChunk
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
from .precheck import check_requirements
from .progress import ProgressReporter
from .refresh import SwapRefresh, plan_for
from .scheduler import ClaimScheduler, LeaseKeeper, Scheduler, Work, poll_interval, worker_name
from .stats import RunStats
from .status import StatusSnapshot
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
    plan, swap = plan_for(config, build_plan(layout, config), task_id, log, storage)
    if config.lightning.check_requirements:  # before the store: opening the mysql store creates its schema
        check_requirements(config, plan, task_id, log)
    store = open_checkpoint_store(config)
    try:
        importer = _Import(config, plan, task_id, store, log, cancel or threading.Event(), swap, keep_summary)
        with _status_server(config.lightning.status_addr, importer.status, log):
            summary = importer.run()
    except BaseException:
        close_after_failure(store, log)
        raise
    store.close()
    return summary


def _status_server(addr: str, snapshot: Callable[[], StatusSnapshot],
                   log: logging.Logger) -> AbstractContextManager[None]:
    """The status server while the import runs, when ``addr`` is set; its modules load only then."""
    if not addr:
        return nullcontext()
    from .status_server import serve_status

    return serve_status(addr, snapshot, log)


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
        self.shared = config.checkpoint.shared
        self.owner = worker_name() if self.shared else ""
        self.lease = float(config.checkpoint.lease_seconds)
        self.claims = 0  # chunks this process claimed (shared imports)
        self.claim_seconds = 0.0  # time its writers spent claiming them
        self.final_outlook: Outlook | None = None  # the last look at the shared import, with no chunk left
        self.lost: list[str] = []  # chunks given up because another worker took their lease
        self.phase = "schema"  # then data, finished (for the status endpoint)
        self.scheduler: Scheduler | ClaimScheduler | None = None
        self.load_data = False  # CSV and SQL batches go as LOAD DATA: asked for, and the server can

    def run(self) -> ImportSummary:
        self.log.info("task %s: %d table(s), %d chunk(s), %d view(s), on-duplicate = %s", self.task_id,
                      len(self.plan.tables), sum(len(t.chunks) for t in self.plan.tables), len(self.plan.views),
                      self.config.duplicate_mode)
        task = self._load_checkpoint()
        self.tables = TableStep(self.store, self.task_id, task.tables, self.log, self.swap)
        self.stats = RunStats((job.key for job in self.plan.tables), done_bytes=self._bytes_done(task),
                              total_bytes=sum(chunk_size(c) for job in self.plan.tables for c in job.chunks))
        with self._leases():
            # Short-lived admin connections: one idle through an hours-long data phase could time out.
            with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
                recorder = ErrorRecorder(self.config.lightning.task_info_schema_name, self.task_id,
                                         self.config.conflict.max_record_rows)
                recorder.ensure_tables(cur)
                budget = ErrorBudget.from_config(self.config.lightning.max_error, self._conflict_limit())
                budget.used.update(recorder.count_existing(cur))
                max_statement = self._max_statement(cur)
                csv_columns = self._schema_step(cur)
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
            if self.shared:
                self._check_no_table_failed()
            # The whole import's rows, read before the finish may remove them (or, when another worker's finish
            # already did, as the last look for work saw them).
            outlook = self.store.outlook(self.task_id) or self.final_outlook
            if self.shared:  # out of the data phase: the finish waits for every live worker to get here
                self.store.finish_step(self.task_id, WORKER_STEP + self.owner, self.owner)
            summary = ImportSummary(self.task_id, self.stats.summaries(self.resumed and not self.shared),
                                    time.monotonic() - self.started, self.resumed)
            summary.add_import_rows(outlook.rows if outlook is not None else None)
            if self.shared:
                summary.worker = {"name": self.owner, "chunks_claimed": self.claims, "chunks_lost": len(self.lost),
                                  "claim_seconds": round(self.claim_seconds, 3), "finished_import": False}
            finished_here = self._once("finish", partial(self._finish, summary), alone=True)
        if summary.worker is not None:
            summary.worker["finished_import"] = finished_here
        self.log.info("import finished: %d rows, %.1f MB in %.1f s", summary.total_rows, summary.total_bytes / 1e6,
                      summary.seconds)
        if self.shared or self.resumed:
            self.log.info("the whole import (every run and worker): %d rows; %s", summary.import_total_rows,
                          "finishing steps done here" if finished_here else "finishing steps done by another worker")
        return summary

    def _finish(self, summary: ImportSummary) -> None:
        """After the last chunk: tables a crashed worker left unfinished, the swap, views, the finished record,
        what to keep of the checkpoint."""
        if self.shared:
            for job in self.plan.tables:
                if self.tables.status(job.key) != TableStatus.DONE:
                    self.tables.done(job, self.stats.table_rows(job.key))
        if self.swap is not None:  # before the views, so they are created against the new tables
            self.swap.swap_in(lambda: connect(self.config.tidb), self.store, self.stats)
        if not self.config.mydumper.no_schema and self.plan.views:
            with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
                for view in self.plan.views:
                    create_view(cur, view, self.config.mydumper.character_set)
        fault_point("task-finished")
        self.phase = "finished"
        if self.keep_summary:  # before the checkpoint goes: from here on a retry finds one or the other
            with closing(connect(self.config.tidb)) as admin, admin.cursor() as cur:
                record_finished(cur, self.config.checkpoint.schema, self.task_id, summary.to_dict())
        self._keep_after_success()

    def _check_no_table_failed(self) -> None:
        """A table another worker failed stops the finish: its error, as that worker saw it."""
        saved = self.store.load(self.task_id)
        failed = [t for t in (saved.tables.values() if saved else ()) if t.status == TableStatus.FAILED]
        if failed:
            raise ImportFailed(f"task {self.task_id}: another worker failed table {failed[0].key}: {failed[0].error}",
                               table=failed[0].key, data_error=False)

    # -- sharing one import ------------------------------------------------------------------------

    @contextmanager
    def _leases(self) -> Iterator[None]:
        """Shared imports: keep this process's leases alive while it works, give them up when it leaves."""
        if not self.shared:
            yield
            return
        self.log.info("task %s: shared import; this worker is %s (lease %.0f s)", self.task_id, self.owner,
                      self.lease)
        with LeaseKeeper(self.store, self.task_id, self.owner, self.lease, self.log):
            self.store.claim_step(self.task_id, WORKER_STEP + self.owner, self.owner, self.lease)  # "I am in"
            yield

    def _once(self, step: str, work: Callable[[], object], *, alone: bool = False) -> bool:
        """Run a once-per-import step: always when not shared; when shared, if this worker claims it.

        A step another worker holds is waited for (it may die, and its lease expire). With ``alone``
        (the finish), the step also waits until every other live worker left the data phase: the last
        one finishes, after each has read the whole import's rows. True when the step ran here.
        """
        if not self.shared:
            work()
            return True
        while True:
            state = self.store.claim_step(self.task_id, step, self.owner, self.lease, alone=alone)
            if state == StepState.MINE:
                work()
                self.store.finish_step(self.task_id, step, self.owner)
                return True
            if state == StepState.DONE:
                return False
            if self.user_cancel.wait(poll_interval(self.lease)):
                raise ImportCancelled(f"task {self.task_id}: import cancelled while waiting for another worker's "
                                      f"{step} step")

    def _schema_step(self, cur: Any) -> dict[str, list[tuple[str, str]]]:
        """Create databases and tables once; every worker then checks them and reads the CSV tables' columns."""
        no_schema, charset = self.config.mydumper.no_schema, self.config.mydumper.character_set
        if not self.shared:
            return self.tables.create_schema(cur, self.plan, no_schema=no_schema, charset=charset,
                                             sql_columns=self._load_data_asked)
        columns: dict[str, list[tuple[str, str]]] = {}

        def create() -> None:
            self._reload_tables()  # a worker that died halfway left some tables created
            columns.update(self.tables.create_schema(cur, self.plan, no_schema=no_schema, charset=charset,
                                                      sql_columns=self._load_data_asked))

        if not self._once("schema", create):
            self._reload_tables()  # all created by another worker: only checks and reads columns here
            columns.update(self.tables.create_schema(cur, self.plan, no_schema=True, charset=charset,
                                                      sql_columns=self._load_data_asked))
        return columns

    def _reload_tables(self) -> None:
        saved = self.store.load(self.task_id)
        if saved is None:
            raise CheckpointError(f"task {self.task_id}: its checkpoint was removed while this worker started "
                                  "(another worker finished the import, or it was removed by hand)")
        self.tables = TableStep(self.store, self.task_id, saved.tables, self.log, self.swap)

    def status(self) -> StatusSnapshot:
        """The run as it stands, for ``status-addr`` (called from the status server's threads)."""
        stats: RunStats | None = getattr(self, "stats", None)
        tables: TableStep | None = getattr(self, "tables", None)
        total = sum(len(job.chunks) for job in self.plan.tables)
        waiting, unfinished = self.scheduler.counts() if self.scheduler else (total, total)
        if self.scheduler is None and self.phase == "finished":
            waiting = unfinished = 0  # every chunk had finished in an earlier run
        rows, done, size = stats.progress() if stats else (0, 0, 0)
        states = {job.key: str(tables.status(job.key)) if tables else "pending" for job in self.plan.tables}
        summaries = stats.summaries(self.resumed) if stats else []
        return StatusSnapshot(self.task_id, self.phase, states,
                              {"pending": waiting, "running": unfinished - waiting, "finished": total - unfinished},
                              rows, done, size, sum(t.bytes for t in summaries), time.monotonic() - self.started,
                              [t.seconds for t in summaries if states.get(t.table) == "done"])

    def _load_checkpoint(self) -> TaskCheckpoint:
        new = self.plan.new_checkpoint(self.task_id)
        saved, created = self.store.load_or_create(new)
        if created:
            return saved
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

    @property
    def _load_data_asked(self) -> bool:
        return self.config.tikv_importer.logical_import_method == LogicalImportMethod.LOAD_DATA

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
        scheduler: Scheduler | ClaimScheduler
        if self.shared:
            self.final_outlook = self.store.outlook(self.task_id)
            left = self.final_outlook.unfinished if self.final_outlook is not None else 0
            scheduler = ClaimScheduler(self.store, self.task_id, self.owner, self.lease, self.plan.tables,
                                       self.config.lightning.table_concurrency, self.stop)
        else:
            pending = [(job, chunk, task.chunks[chunk.key].progress) for job in self.plan.tables
                       for chunk in job.chunks
                       if self.tables.status(job.key) != TableStatus.DONE
                       and not task.chunks[chunk.key].progress.finished]
            waiting = {job.key for job, _, _ in pending}
            for job in self.plan.tables:  # tables whose chunks all finished before a crash
                if job.key not in waiting and self.tables.status(job.key) != TableStatus.DONE:
                    self.tables.done(job, 0)
            left = len(pending)
            scheduler = Scheduler(pending, self.config.lightning.table_concurrency, self.stop)
        if not left:
            return
        self.scheduler = scheduler
        self.phase = "data"
        errors: list[tuple[TableJob | None, BaseException]] = []
        workers = [threading.Thread(target=self._worker, args=(scheduler, chunks, ctx, errors),
                                    name=f"lightning-writer-{i}", daemon=True)
                   for i in range(max(1, min(self.config.lightning.region_concurrency, left)))]
        with ProgressReporter(self.stats.progress, self.log):
            for w in workers:
                w.start()
            for w in workers:
                while w.is_alive():
                    w.join(0.2)
                    if self.user_cancel.is_set():
                        self.stop.set()
        if isinstance(scheduler, ClaimScheduler):
            self.claims = scheduler.claims
            self.claim_seconds = scheduler.claim_seconds
            self.final_outlook = scheduler.last_outlook or self.final_outlook
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

    def _worker(self, scheduler: Scheduler | ClaimScheduler, chunks: ChunkStep, ctx: WriteContext,
                errors: list[tuple[TableJob | None, BaseException]]) -> None:
        writer = BatchWriter(ctx)
        try:
            while not self.stop.is_set():
                work: Work | None = scheduler.next()
                if work is None:
                    return
                try:
                    chunks.write(writer, work.job, work.chunk, work.progress, work.token)
                except LostChunk as lost:
                    if not work.token:  # an unshared run met another run of its task: stop, nothing doubled
                        errors.append((None, lost))
                        self.stop.set()
                        return
                    self.log.warning("%s", lost)  # claimed: the new owner goes on from the saved position
                    self.lost.append(work.chunk.key)  # list.append is atomic
                    scheduler.done(work)
                    continue
                except ImportFailed as exc:
                    if not (work.token and exc.data_error and self._overtaken(exc)):
                        errors.append((work.job, exc))
                        self.stop.set()
                        return
                    # This worker stalled past its lease (a paused VM, a loaded host) and the new owner of the
                    # chunk wrote on: its rows, not the data, are what this batch's duplicate key met. Nothing
                    # of the batch was committed; move on as when the lease was lost at a commit.
                    self.log.warning("task %s: chunk %s was taken over by another worker while this one missed its "
                                     "lease renewals; the duplicate key at byte offset %s of %s came from that "
                                     "worker's rows: nothing of this batch was committed", self.task_id,
                                     work.chunk.key, exc.offset, exc.path)
                    self.lost.append(work.chunk.key)
                    scheduler.done(work)
                    writer.close()  # after the failed batch, the next chunk starts on a fresh connection
                    continue
                except BaseException as exc:  # noqa: BLE001 - every failure stops the import and is re-raised
                    errors.append((work.job, exc))  # list.append is atomic; read only after every thread ended
                    self.stop.set()
                    return
                if scheduler.done(work):
                    self.tables.done(work.job, self.stats.table_rows(work.job.key))
        finally:
            writer.close()

    def _fail(self, errors: list[tuple[TableJob | None, BaseException]]) -> None:
        """Re-raise the first real error; data errors also mark their table failed in the checkpoint."""
        real = [(job, exc) for job, exc in errors if not isinstance(exc, ImportCancelled)] or errors
        job, exc = real[0]
        data_problem = isinstance(exc, SourceError | SchemaError) or (
            isinstance(exc, ImportFailed) and exc.data_error)
        if isinstance(exc, ImportFailed) and data_problem and self._overtaken(exc):
            raise LostChunk(f"task {self.task_id}: {exc.path} at byte offset {exc.offset} was already committed by "
                            "another run of the same task (this run's error there, a duplicate key, came from "
                            "rows that run wrote): two runs of one task are writing at once; nothing of this "
                            "run's batch was committed") from exc
        if job is not None and data_problem:
            try:
                self.tables.failed(job, exc)
            except (pymysql.err.MySQLError, OSError, CheckpointError) as save_error:
                self.log.warning("could not mark table %s failed in the checkpoint: %s", job.key, save_error)
        if isinstance(exc, ImportCancelled) and self.user_cancel.is_set():
            raise ImportCancelled(f"task {self.task_id}: import cancelled; the checkpoint is consistent, rerun to "
                                  "resume") from None
        raise exc

    def _overtaken(self, exc: ImportFailed) -> bool:
        """Did another run of the task commit past the row this run failed on? Then the failure (a duplicate of
        that run's rows) is not the data's fault, and the table must not be marked failed. A run never commits
        past its own failing row, so a saved position beyond it was written by someone else."""
        if exc.path is None or exc.offset is None:
            return False
        offset = exc.offset
        saved = self.store.load(self.task_id)
        if saved is None:  # removed under this run: the other run finished
            return True
        return any(c.path == exc.path and c.start <= offset < (c.end if c.end is not None else _UNLIMITED)
                   and c.progress.position.offset > offset for c in saved.chunks.values())

    def _keep_after_success(self) -> None:
        if not self.config.checkpoint.enable:
            return
        keep = self.config.checkpoint.keep_after_success
        if keep == "remove":
            self.store.remove(self.task_id)
        elif keep == "rename":
            self.store.rename(self.task_id, f"{self.task_id}.done-{time.strftime('%Y%m%dT%H%M%S')}")

"""A target table's steps around its data: create its schema (or check it is the one the checkpoint knew),
and mark it done or failed.

This module is the one owner of the tables' checkpoint state during a run: it holds each table's
frozen :class:`~..checkpoints.model.TableCheckpoint`, replaces it on every change and saves it in
the store, all under one lock (writer threads finish tables concurrently).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..checkpoints import CheckpointStore
from ..checkpoints.model import TableCheckpoint, TableStatus
from ..common.failpoint import fault_point
from ..config.charsets import Charset
from ..errors import CheckpointError, SchemaError
from .plan import Plan, TableJob
from .target_schema import create_database, create_table, table_columns, table_exists, table_identity

if TYPE_CHECKING:
    from .refresh import SwapRefresh

_ERROR_TEXT = 2000  # how much of a failure the checkpoint keeps


class TableStep:
    def __init__(self, store: CheckpointStore, task_id: str, tables: dict[str, TableCheckpoint],
                 log: logging.Logger, swap: SwapRefresh | None = None) -> None:
        self._store = store
        self._swap = swap  # refresh mode "swap": the tables are shadows, created and identified by it
        self._task_id = task_id
        self._tables = dict(tables)
        self._log = log
        self._lock = threading.Lock()

    def status(self, key: str) -> TableStatus:
        with self._lock:
            return self._tables[key].status

    def _save(self, table: TableCheckpoint) -> None:
        with self._lock:
            self._store.save_table(self._task_id, table)
            self._tables[table.key] = table

    def create_schema(self, cur: Any, plan: Plan, *, no_schema: bool, charset: Charset = Charset.AUTO,
                      sql_columns: bool = False) -> dict[str, list[tuple[str, str]]]:
        """Create databases and pending tables (or, with ``no_schema``, check they exist); check that tables the
        checkpoint already knows are still the same table. Returns the column types of tables with CSV or Parquet
        data (and, with ``sql_columns``, of tables with SQL data: load-data checks their numbers by type)."""
        if not no_schema:
            for database in plan.databases:
                create_database(cur, database, charset)
        missing = []
        csv_columns: dict[str, list[tuple[str, str]]] = {}
        for job in plan.tables:
            state = self._tables[job.key]
            if state.status == TableStatus.PENDING:
                if self._swap is not None:
                    self._swap.create_shadow(cur, job, no_schema=no_schema, charset=charset)
                elif no_schema:
                    if not table_exists(cur, job.schema, job.table):
                        missing.append(job.key)
                        continue
                else:
                    create_table(cur, job.schema_source, charset)
                self._save(replace(state, status=TableStatus.SCHEMA,
                                   target_id=table_identity(cur, job.schema, job.table)))
            else:
                self._check_identity(cur, job, state)
            if any(c.file.format in ("csv", "parquet") or sql_columns for c in job.chunks):
                csv_columns[job.key] = table_columns(cur, job.schema, job.table)
        if missing:
            raise SchemaError(f"mydumper.no-schema is set but these target tables do not exist: {', '.join(missing)}")
        if self._swap is not None:
            self._swap.check_constraints(cur)
        return csv_columns

    def _check_identity(self, cur: Any, job: TableJob, state: TableCheckpoint) -> None:
        """Rows the checkpoint counts as written are only there if the table is the one it saw."""
        swap = self._swap
        current = swap.identity(cur, job) if swap is not None else table_identity(cur, job.schema, job.table)
        if current != state.target_id:
            raise CheckpointError(
                f"table {job.key} was dropped or recreated since the checkpoint of task {self._task_id} was "
                f"saved ({state.target_id or 'none'} then, {current or 'missing'} now): the rows the "
                f"checkpoint counts as written are gone. Import it again from the start with "
                f"tidb-lightning-py-ctl --checkpoint-remove='{job.key}'"
            )

    def done(self, job: TableJob, rows_this_run: int) -> bool:
        """Mark the table done once every chunk of it is finished: a compare-and-set in the store, so of several
        workers (or processes of a shared import) finishing its last chunks, exactly one does. True if this did."""
        if not self._store.complete_table(self._task_id, job.key):
            return False
        with self._lock:
            self._tables[job.key] = replace(self._tables[job.key], status=TableStatus.DONE)
        self._log.info("table %s: done (%d rows this run)", job.key, rows_this_run)
        fault_point("table-finished")
        return True

    def failed(self, job: TableJob, error: BaseException) -> None:
        """Mark a table failed by a data error, so the next run asks what to do instead of repeating it."""
        self._save(replace(self._tables[job.key], status=TableStatus.FAILED, error=str(error)[:_ERROR_TEXT]))

"""Bad rows and conflicts: where they are recorded and how many are allowed.

Like tidb-lightning's ``type_error_v1`` and ``conflict_records``, records go to tables of the
``[lightning] task-info-schema-name`` database on the target. The writer inserts a record with the
same connection and transaction as the batch it belongs to, so a crash never leaves a record for
rows that were not committed, or the reverse. The budget is checked before a batch commits (a batch
that would break it is rolled back) and charged once it has committed: a batch that is rolled back
and sent again is counted once, as its records are.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import pymysql

from ..common.cursor import Cursor
from ..common.dberrors import describe
from ..common.quoting import quote_identifier
from ..config.model import MaxError

log = logging.getLogger(__name__)

_RECORD_COLUMNS = """
    `id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    `task_id` VARCHAR(255) NOT NULL,
    `create_time` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    `table_name` VARCHAR(1024) NOT NULL,
    `path` VARCHAR(2048) NOT NULL,
    `offset` BIGINT NOT NULL,
    `kind` VARCHAR(16) NOT NULL,
    `error` TEXT NOT NULL,
    `row_data` LONGBLOB,
    KEY `task_table` (`task_id`, `table_name`(255))
"""
TYPE_ERROR_TABLE = "type_error_v1"
CONFLICT_TABLE = "conflict_records"


# The key that sets each kind's limit, as tidb-lightning's messages name it.
BUDGET_KEYS = {"type": "max-error.type", "syntax": "max-error.syntax", "charset": "max-error.charset",
               "conflict": "conflict.threshold"}


class BudgetExceeded(Exception):
    """Raised by :meth:`ErrorBudget.charge` when one more error of a kind is not allowed.

    The message is tidb-lightning's, word for word, because users and their alerts search logs for it.
    """

    def __init__(self, kind: str, limit: int, over: int) -> None:
        self.kind = kind
        self.limit = limit
        self.over = over  # how many of the errors just charged are past the limit
        super().__init__(f"The number of {kind} errors exceeds the threshold configured by "
                         f"`{BUDGET_KEYS.get(kind, kind)}`: '{limit}'")


@dataclass
class ErrorBudget:
    """Thread-safe counters against ``[lightning] max-error`` (type/syntax/charset) and the conflict limit."""

    limits: dict[str, int]
    used: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_config(cls, max_error: MaxError, conflict_limit: int) -> ErrorBudget:
        return cls({"type": max_error.type, "syntax": max_error.syntax, "charset": max_error.charset,
                    "conflict": conflict_limit})

    def check(self, kind: str, count: int) -> None:
        """Raise :class:`BudgetExceeded` if charging ``count`` more errors of ``kind`` now would break the limit."""
        with self._lock:
            total = self.used.get(kind, 0) + count
        limit = self.limits.get(kind, 0)
        if total > limit:
            raise BudgetExceeded(kind, limit, min(count, total - limit))

    def charge(self, kind: str, count: int = 1) -> None:
        """Count ``count`` committed errors of ``kind``; raise :class:`BudgetExceeded` past the limit."""
        with self._lock:
            total = self.used.get(kind, 0) + count
            self.used[kind] = total
        limit = self.limits.get(kind, 0)
        if total > limit:
            raise BudgetExceeded(kind, limit, min(count, total - limit))


class ErrorRecorder:
    """Creates the task-info tables and writes records into them."""

    def __init__(self, schema: str, task_id: str, max_conflict_records: int) -> None:
        self.schema = schema
        self.task_id = task_id
        self.max_conflict_records = max_conflict_records
        self._conflicts_recorded = 0
        self._first_conflict_recorded = False
        self._lock = threading.Lock()

    def table(self, name: str) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(name)}"

    def ensure_tables(self, cur: Cursor) -> None:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.schema)}")
        for name in (TYPE_ERROR_TABLE, CONFLICT_TABLE):
            cur.execute(f"CREATE TABLE IF NOT EXISTS {self.table(name)} ({_RECORD_COLUMNS})")

    def count_existing(self, cur: Cursor) -> dict[str, int]:
        """Errors already recorded by earlier runs of this task, so a resume keeps the same budget."""
        counts: dict[str, int] = {}
        for name in (TYPE_ERROR_TABLE, CONFLICT_TABLE):
            cur.execute(f"SELECT `kind`, COUNT(*) FROM {self.table(name)} WHERE `task_id` = %s GROUP BY `kind`",
                        (self.task_id,))
            for kind, n in cur.fetchall():
                counts[kind if isinstance(kind, str) else kind.decode()] = int(n)
        return counts

    def record(self, cur: Cursor, *, kind: str, table: str, path: str, offset: int, error: str, row: bytes) -> None:
        """Insert one record with ``cur`` (inside the caller's transaction)."""
        target = CONFLICT_TABLE if kind == "conflict" else TYPE_ERROR_TABLE
        if target == CONFLICT_TABLE:
            with self._lock:
                if self._conflicts_recorded >= self.max_conflict_records:
                    return
                self._conflicts_recorded += 1
        self._insert(cur, target, kind, table, path, offset, error, row)

    def record_first_conflict(self, cur: Cursor, *, table: str, path: str, offset: int, error: str, row: bytes) -> None:
        """Record the import's first duplicate under ``conflict.strategy = "error"`` and commit it alone.

        The caller has rolled its batch back and is about to stop the import: the record is what tells
        the user which row it was (tidb-lightning's ``RecordDuplicateOnce``). Only the first writer to get
        here records; failing to record is logged, and the import fails on the duplicate all the same.
        """
        with self._lock:
            if self._first_conflict_recorded:
                return
            self._first_conflict_recorded = True
            self._conflicts_recorded += 1
        try:
            self._insert(cur, CONFLICT_TABLE, "conflict", table, path, offset, error, row)
            cur.connection.commit()
        except pymysql.err.MySQLError as exc:
            log.warning("could not record the duplicate row of %s at byte offset %d in %s: %s", path, offset,
                        self.table(CONFLICT_TABLE), describe(exc))

    def log_details(self, logger: logging.Logger, budget: ErrorBudget) -> None:
        """Say how many errors the task has and which table holds them, as tidb-lightning's ``LogErrorDetails``
        does at the end of a run (counts are the budget's: committed errors, with those of earlier runs)."""
        for kind in ("type", "syntax"):
            if budget.used.get(kind, 0):
                logger.warning("Detect %d data %s errors in total, please refer to table %s for more details",
                               budget.used[kind], kind, self.table(TYPE_ERROR_TABLE))
        with self._lock:
            first_recorded = self._first_conflict_recorded
        conflicts = budget.used.get("conflict", 0) if self.max_conflict_records > 0 else 0
        if first_recorded or conflicts:
            logger.warning("Detect %d conflict errors in total, please refer to table %s for more details",
                           max(conflicts, 1 if first_recorded else 0), self.table(CONFLICT_TABLE))

    def _insert(self, cur: Cursor, target: str, kind: str, table: str, path: str, offset: int, error: str,
                row: bytes) -> None:
        cur.execute(
            f"INSERT INTO {self.table(target)} (`task_id`, `table_name`, `path`, `offset`, `kind`, `error`, `row_data`)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (self.task_id, table, path, offset, kind, error, row),
        )

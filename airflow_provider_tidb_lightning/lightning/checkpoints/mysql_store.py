"""``[checkpoint] driver = "mysql"``: checkpoint tables in a schema of the target server.

Chunk progress is written on the writer's own connection inside the transaction that inserts the
rows (:meth:`MySQLStore.commit_progress`), so the rows and the position that says they are there
commit together, or not at all. That is what makes a resume exactly once for every
``on-duplicate`` mode. Everything else (task, table status) goes through the store's own
connection; what changes several rows (creating, removing or renaming a task) is one transaction,
so a crash never leaves half a task behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pymysql

from ..common.dberrors import classify
from ..common.failpoint import fault_point
from ..common.quoting import quote_identifier
from ..common.retry import RetryLog, RetryPolicy
from ..mydump.rows import ReadPosition
from .model import (
    ChunkCheckpoint,
    ChunkProgress,
    TableCheckpoint,
    TableStatus,
    TaskCheckpoint,
    columns_from_json,
    columns_to_json,
    fixed_key,
    task_key,
)
from .store import CheckpointStore, Connect

_T = TypeVar("_T")

_DDL = (
    """CREATE TABLE IF NOT EXISTS {schema}.`task_v1` (
        `task_key` CHAR(40) NOT NULL PRIMARY KEY,
        `task_id` VARCHAR(1024) NOT NULL,
        `fingerprint` CHAR(64) NOT NULL,
        `create_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
        `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.`table_v1` (
        `task_key` CHAR(40) NOT NULL,
        `table_name` VARCHAR(1024) NOT NULL,
        `table_hash` CHAR(40) NOT NULL,
        `status` VARCHAR(32) NOT NULL,
        `target_id` VARCHAR(128) NOT NULL DEFAULT '',
        `error` TEXT,
        `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        PRIMARY KEY (`task_key`, `table_hash`)
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.`chunk_v1` (
        `task_key` CHAR(40) NOT NULL,
        `chunk_hash` CHAR(40) NOT NULL,
        `chunk_key` VARCHAR(2048) NOT NULL,
        `table_name` VARCHAR(1024) NOT NULL,
        `path` VARCHAR(2048) NOT NULL,
        `file_size` BIGINT NOT NULL,
        `start_offset` BIGINT NOT NULL,
        `end_offset` BIGINT NULL,
        `pos` BIGINT NOT NULL,
        `pos_columns` TEXT NULL,
        `pos_in_values` TINYINT NOT NULL DEFAULT 0,
        `rows_written` BIGINT NOT NULL DEFAULT 0,
        `finished` TINYINT NOT NULL DEFAULT 0,
        `update_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
        PRIMARY KEY (`task_key`, `chunk_hash`)
    )""",
)


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes | bytearray) else value


Cursor = Any  # a PyMySQL cursor


class MySQLStore(CheckpointStore):
    def __init__(self, connect: Callable[[], pymysql.Connection], schema: str) -> None:
        self._connect = connect
        self.schema = schema
        self._q = quote_identifier(schema)
        self._retry = RetryPolicy()
        self._conn: pymysql.Connection | None = connect()
        self._lock = threading.RLock()
        self._execute(f"CREATE DATABASE IF NOT EXISTS {self._q}")
        for ddl in _DDL:
            self._execute(ddl.format(schema=self._q))

    def _execute(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement on the store's connection (autocommit); see :meth:`_transaction`."""
        def one(cur: Cursor) -> list[tuple[Any, ...]]:
            cur.execute(sql, args)
            return list(cur.fetchall())
        return self._transaction(one)

    def _transaction(self, work: Callable[[Cursor], _T]) -> _T:
        """Run ``work(cursor)`` in one transaction on the store's connection, reconnecting with backoff if the
        server went away (the whole transaction is run again: nothing of a failed try was committed).

        The writers ride out a server restart (see :class:`~..common.retry.RetryPolicy`); the store's
        own updates must too, or a restart that catches one would fail the import.
        """
        attempt = 0
        tries = RetryLog(self._retry, f"checkpoint store (schema {self._q})")
        with self._lock:
            while True:
                attempt += 1
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    self._conn.begin()
                    try:
                        with self._conn.cursor() as cur:
                            result = work(cur)
                        self._conn.commit()
                    except BaseException:
                        self._rollback()
                        raise
                    return result
                except (pymysql.err.MySQLError, OSError) as exc:
                    if classify(exc) != "transient":
                        raise
                    if attempt >= self._retry.attempts:
                        tries.logger.error("%s: %s", tries.what, tries.gave_up(attempt))
                        raise
                    self._conn = None
                    tries.retry(attempt, exc)

    def _rollback(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rollback()
        except (pymysql.err.MySQLError, OSError):
            self._conn = None  # a broken connection: the server rolls back on its own

    def load(self, task_id: str) -> TaskCheckpoint | None:
        key = task_key(task_id)

        def read(cur: Cursor) -> TaskCheckpoint | None:
            cur.execute(f"SELECT `fingerprint` FROM {self._q}.`task_v1` WHERE `task_key` = %s", (key,))
            row = cur.fetchone()
            if row is None:
                return None
            task = TaskCheckpoint(task_id, _text(row[0]))
            cur.execute(f"SELECT `table_name`, `status`, `target_id`, `error` FROM {self._q}.`table_v1`"
                        " WHERE `task_key` = %s", (key,))
            for name, status, target_id, error in cur.fetchall():
                task.tables[_text(name)] = TableCheckpoint(_text(name), TableStatus(_text(status)), _text(target_id),
                                                           _text(error) or "")
            cur.execute(
                f"SELECT `chunk_key`, `table_name`, `path`, `file_size`, `start_offset`, `end_offset`, `pos`,"
                f" `pos_columns`, `pos_in_values`, `rows_written`, `finished` FROM {self._q}.`chunk_v1`"
                " WHERE `task_key` = %s", (key,))
            for ck, table, path, size, start, end, pos, cols, in_values, rows_written, finished in cur.fetchall():
                progress = ChunkProgress(ReadPosition(int(pos), columns_from_json(cols), bool(in_values)),
                                         int(rows_written), bool(finished))
                task.chunks[_text(ck)] = ChunkCheckpoint(
                    _text(ck), _text(table), _text(path), int(size), int(start), None if end is None else int(end),
                    progress)
            return task

        return self._transaction(read)  # one snapshot: the task, its tables and chunks as of one instant

    def create(self, task: TaskCheckpoint) -> None:
        key = task_key(task.task_id)
        rows = [
            (key, c.hashed_key, c.key, c.table, c.path, c.file_size, c.start, c.end, c.progress.position.offset,
             columns_to_json(c.progress.position.columns), int(c.progress.position.in_values), c.progress.rows,
             int(c.progress.finished))
            for c in task.chunks.values()
        ]

        def write(cur: Cursor) -> None:
            self._delete(cur, key)
            cur.execute(f"INSERT INTO {self._q}.`task_v1` (`task_key`, `task_id`, `fingerprint`) VALUES (%s, %s, %s)",
                        (key, task.task_id, task.fingerprint))
            for table in task.tables.values():
                self._save_table(cur, key, table)
            fault_point("checkpoint-creating")
            for i in range(0, len(rows), 500):
                cur.executemany(
                    f"INSERT INTO {self._q}.`chunk_v1` (`task_key`, `chunk_hash`, `chunk_key`, `table_name`, `path`,"
                    " `file_size`, `start_offset`, `end_offset`, `pos`, `pos_columns`, `pos_in_values`,"
                    " `rows_written`, `finished`) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows[i:i + 500],
                )

        self._transaction(write)

    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        self._transaction(lambda cur: self._save_table(cur, task_key(task_id), table))

    def _save_table(self, cur: Cursor, key: str, table: TableCheckpoint) -> None:
        cur.execute(
            f"REPLACE INTO {self._q}.`table_v1` (`task_key`, `table_name`, `table_hash`, `status`, `target_id`,"
            " `error`) VALUES (%s, %s, %s, %s, %s, %s)",
            (key, table.key, table.hashed_key, table.status.value, table.target_id, table.error),
        )

    def writer_connection(self, connect: Connect) -> pymysql.Connection:
        """Autocommit off: every batch is a transaction that :meth:`commit_progress` joins and commits."""
        return connect(False)

    def commit_progress(self, conn: Any, task_id: str, chunk_key: str, progress: ChunkProgress) -> None:
        """Write ``progress`` into the writer's open transaction, then commit rows and progress together."""
        pos = progress.position
        with conn.cursor() as cur:
            cur.execute(
                f"UPDATE {self._q}.`chunk_v1` SET `pos` = %s, `pos_columns` = %s, `pos_in_values` = %s,"
                " `rows_written` = %s WHERE `task_key` = %s AND `chunk_hash` = %s",
                (pos.offset, columns_to_json(pos.columns), int(pos.in_values), progress.rows, task_key(task_id),
                 fixed_key(chunk_key)),
            )
        conn.commit()

    def committed_progress(self, conn: Any, task_id: str, chunk_key: str) -> ChunkProgress:
        """Read the chunk's row on the writer's fresh connection: what the server holds is what was committed."""
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT `pos`, `pos_columns`, `pos_in_values`, `rows_written`, `finished` FROM {self._q}.`chunk_v1`"
                " WHERE `task_key` = %s AND `chunk_hash` = %s",
                (task_key(task_id), fixed_key(chunk_key)),
            )
            pos, cols, in_values, rows, finished = cur.fetchone()
        conn.rollback()  # end the read's snapshot before the batch is sent again
        return ChunkProgress(ReadPosition(int(pos), columns_from_json(cols), bool(in_values)), int(rows),
                             bool(finished))

    def finish_chunk(self, task_id: str, chunk_key: str, progress: ChunkProgress) -> None:
        self._execute(
            f"UPDATE {self._q}.`chunk_v1` SET `finished` = 1 WHERE `task_key` = %s AND `chunk_hash` = %s",
            (task_key(task_id), fixed_key(chunk_key)),
        )

    def _delete(self, cur: Cursor, key: str) -> None:
        for name in ("chunk_v1", "table_v1", "task_v1"):
            cur.execute(f"DELETE FROM {self._q}.`{name}` WHERE `task_key` = %s", (key,))

    def remove(self, task_id: str, table: str | None = None) -> None:
        key = task_key(task_id)

        def delete(cur: Cursor) -> None:
            if table is None:
                self._delete(cur, key)
                return
            for name in ("chunk_v1", "table_v1"):
                cur.execute(f"DELETE FROM {self._q}.`{name}` WHERE `task_key` = %s AND `table_name` = %s",
                            (key, table))

        self._transaction(delete)

    def rename(self, task_id: str, new_task_id: str) -> None:
        old, new = task_key(task_id), task_key(new_task_id)

        def move(cur: Cursor) -> None:
            self._delete(cur, new)
            cur.execute(f"UPDATE {self._q}.`task_v1` SET `task_key` = %s, `task_id` = %s WHERE `task_key` = %s",
                        (new, new_task_id, old))
            for name in ("chunk_v1", "table_v1"):
                cur.execute(f"UPDATE {self._q}.`{name}` SET `task_key` = %s WHERE `task_key` = %s", (new, old))

        self._transaction(move)

    def task_ids(self) -> list[str]:
        return sorted(_text(r[0]) for r in self._execute(f"SELECT `task_id` FROM {self._q}.`task_v1`"))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

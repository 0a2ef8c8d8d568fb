"""``[checkpoint] driver = "mysql"``: checkpoint tables in a schema of the target server.

Chunk progress is written by the writer's own cursor inside the transaction that inserts the rows
(:meth:`MySQLStore.save_progress_in_transaction`), so the rows and the position that says they are
there commit together, or not at all. That is what makes a resume exactly once for every
``on-duplicate`` mode. Everything else (task, table status) goes through the store's own
connection with autocommit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pymysql

from ..common.dberrors import classify
from ..common.quoting import quote_identifier
from ..common.retry import RetryPolicy
from ..mydump.rows import ReadPosition
from .model import (
    ChunkCheckpoint,
    TableCheckpoint,
    TaskCheckpoint,
    columns_from_json,
    columns_to_json,
    task_key,
)
from .store import CheckpointStore

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


class MySQLStore(CheckpointStore):
    transactional = True

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

    def _execute(self, sql: str, args: Any = None, many: bool = False) -> list[tuple]:
        """Run one statement on the store's connection, reconnecting with backoff if the server went away.

        The writers ride out a server restart (see :class:`~..write.retry.RetryPolicy`); the store's
        own status updates must too, or a restart that catches one would fail the import.
        """
        attempt = 0
        with self._lock:
            while True:
                attempt += 1
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    with self._conn.cursor() as cur:
                        if many:
                            cur.executemany(sql, args)
                        else:
                            cur.execute(sql, args)
                        return list(cur.fetchall())
                except (pymysql.err.MySQLError, OSError) as exc:
                    if classify(exc) != "transient" or attempt >= self._retry.attempts:
                        raise
                    self._conn = None
                    self._retry.sleep(attempt, None)

    def load(self, task_id: str) -> TaskCheckpoint | None:
        key = task_key(task_id)
        rows = self._execute(f"SELECT `fingerprint` FROM {self._q}.`task_v1` WHERE `task_key` = %s", (key,))
        if not rows:
            return None
        task = TaskCheckpoint(task_id, _text(rows[0][0]))
        for name, status, target_id, error in self._execute(
            f"SELECT `table_name`, `status`, `target_id`, `error` FROM {self._q}.`table_v1` WHERE `task_key` = %s",
            (key,),
        ):
            task.tables[_text(name)] = TableCheckpoint(_text(name), _text(status), _text(target_id), _text(error) or "")
        for row in self._execute(
            f"SELECT `chunk_key`, `table_name`, `path`, `file_size`, `start_offset`, `end_offset`, `pos`,"
            f" `pos_columns`, `pos_in_values`, `rows_written`, `finished` FROM {self._q}.`chunk_v1`"
            " WHERE `task_key` = %s",
            (key,),
        ):
            ck, table, path, size, start, end, pos, cols, in_values, rows_written, finished = row
            task.chunks[_text(ck)] = ChunkCheckpoint(
                _text(ck), _text(table), _text(path), int(size), int(start), None if end is None else int(end),
                ReadPosition(int(pos), columns_from_json(cols), bool(in_values)), int(rows_written), bool(finished),
            )
        return task

    def create(self, task: TaskCheckpoint) -> None:
        self.remove(task.task_id)
        key = task_key(task.task_id)
        self._execute(
            f"INSERT INTO {self._q}.`task_v1` (`task_key`, `task_id`, `fingerprint`) VALUES (%s, %s, %s)",
            (key, task.task_id, task.fingerprint),
        )
        for table in task.tables.values():
            self.save_table(task.task_id, table)
        rows = [
            (key, c.hashed_key, c.key, c.table, c.path, c.file_size, c.start, c.end, c.position.offset,
             columns_to_json(c.position.columns), int(c.position.in_values), c.rows, int(c.finished))
            for c in task.chunks.values()
        ]
        for i in range(0, len(rows), 500):
            self._execute(
                f"INSERT INTO {self._q}.`chunk_v1` (`task_key`, `chunk_hash`, `chunk_key`, `table_name`, `path`,"
                " `file_size`, `start_offset`, `end_offset`, `pos`, `pos_columns`, `pos_in_values`, `rows_written`,"
                " `finished`) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows[i:i + 500], many=True,
            )

    def save_table(self, task_id: str, table: TableCheckpoint) -> None:
        self._execute(
            f"REPLACE INTO {self._q}.`table_v1` (`task_key`, `table_name`, `table_hash`, `status`, `target_id`,"
            " `error`) VALUES (%s, %s, %s, %s, %s, %s)",
            (task_key(task_id), table.key, table.hashed_key, table.status, table.target_id,
             table.error),
        )

    def save_progress_in_transaction(self, cursor: Any, task_id: str, chunk: ChunkCheckpoint) -> None:
        pos = chunk.position
        cursor.execute(
            f"UPDATE {self._q}.`chunk_v1` SET `pos` = %s, `pos_columns` = %s, `pos_in_values` = %s,"
            " `rows_written` = %s WHERE `task_key` = %s AND `chunk_hash` = %s",
            (pos.offset, columns_to_json(pos.columns), int(pos.in_values), chunk.rows, task_key(task_id),
             chunk.hashed_key),
        )

    def read_progress(self, cursor: Any, task_id: str, chunk: ChunkCheckpoint) -> tuple[int, int]:
        cursor.execute(
            f"SELECT `pos`, `rows_written` FROM {self._q}.`chunk_v1` WHERE `task_key` = %s AND `chunk_hash` = %s",
            (task_key(task_id), chunk.hashed_key),
        )
        pos, rows = cursor.fetchone()
        return int(pos), int(rows)

    def finish_chunk(self, task_id: str, chunk: ChunkCheckpoint) -> None:
        chunk.finished = True
        self._execute(
            f"UPDATE {self._q}.`chunk_v1` SET `finished` = 1 WHERE `task_key` = %s AND `chunk_hash` = %s",
            (task_key(task_id), chunk.hashed_key),
        )

    def remove(self, task_id: str, table: str | None = None) -> None:
        key = task_key(task_id)
        if table is None:
            for name in ("chunk_v1", "table_v1", "task_v1"):
                self._execute(f"DELETE FROM {self._q}.`{name}` WHERE `task_key` = %s", (key,))
            return
        for name in ("chunk_v1", "table_v1"):
            self._execute(f"DELETE FROM {self._q}.`{name}` WHERE `task_key` = %s AND `table_name` = %s", (key, table))

    def rename(self, task_id: str, new_task_id: str) -> None:
        old, new = task_key(task_id), task_key(new_task_id)
        self.remove(new_task_id)
        self._execute(f"UPDATE {self._q}.`task_v1` SET `task_key` = %s, `task_id` = %s WHERE `task_key` = %s",
                      (new, new_task_id, old))
        for name in ("chunk_v1", "table_v1"):
            self._execute(f"UPDATE {self._q}.`{name}` SET `task_key` = %s WHERE `task_key` = %s", (new, old))

    def task_ids(self) -> list[str]:
        return sorted(_text(r[0]) for r in self._execute(f"SELECT `task_id` FROM {self._q}.`task_v1`"))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

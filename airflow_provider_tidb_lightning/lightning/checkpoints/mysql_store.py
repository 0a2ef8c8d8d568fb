"""``[checkpoint] driver = "mysql"``: checkpoint tables in a schema of the target server.

Chunk progress is written on the writer's own connection inside the transaction that inserts the
rows (:meth:`MySQLStore.commit_progress`), so the rows and the position that says they are there
commit together, or not at all. That is what makes a resume exactly once for every
``on-duplicate`` mode. Everything else (task, table status) goes through the store's own
connection; what changes several rows (creating, removing or renaming a task) is one transaction,
so a crash never leaves half a task behind.

The progress update is a compare-and-set: it names the position and row count the writer started
the batch from (and, for a claimed chunk, the claim's lease token), and the batch commits only if
the UPDATE changed exactly that row. A second run of the same task, or a worker whose lease another
took over, finds its expectation stale and rolls back: no chunk is written twice.

Claims and leases (``[checkpoint] shared = true``) live in ``chunk_v1`` itself (``lease_owner``,
``lease_token``, ``lease_expires``) and in ``step_v1`` for the once-per-import steps. A claim is one
``UPDATE ... ORDER BY seq LIMIT 1`` over the rows that are unfinished and unleased (or whose lease
expired), checked by its affected-row count and read back by its token: it needs neither ``SKIP
LOCKED`` (which TiDB lacks) nor a lock held across statements, and it works the same on TiDB, MySQL 8
and MariaDB. Lease times are the server's (``NOW(6)``), so the workers' clocks never matter.
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
from ..errors import CheckpointError
from ..mydump.rows import ReadPosition
from .model import (
    WORKER_STEP,
    ChunkCheckpoint,
    ChunkProgress,
    Claim,
    Outlook,
    StepState,
    TableCheckpoint,
    TableStatus,
    TaskCheckpoint,
    columns_from_json,
    columns_to_json,
    fixed_key,
    task_key,
)
from .store import CheckpointStore, Connect, LostChunk

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
        `seq` INT NOT NULL DEFAULT 0,
        `lease_owner` VARCHAR(128) NOT NULL DEFAULT '',
        `lease_token` VARCHAR(160) NOT NULL DEFAULT '',
        `lease_expires` DATETIME(6) NULL,
        PRIMARY KEY (`task_key`, `chunk_hash`)
    )""",
    """CREATE TABLE IF NOT EXISTS {schema}.`step_v1` (
        `task_key` CHAR(40) NOT NULL,
        `step` VARCHAR(200) NOT NULL,
        `lease_owner` VARCHAR(128) NOT NULL DEFAULT '',
        `lease_expires` DATETIME(6) NULL,
        `done` TINYINT NOT NULL DEFAULT 0,
        PRIMARY KEY (`task_key`, `step`)
    )""",
)

# Columns added to chunk_v1 after its first release (in its DDL above too); added to an older table on open.
_CHUNK_COLUMNS = (
    ("seq", "INT NOT NULL DEFAULT 0"),  # the plan's order: claims go table by table, file by file
    ("lease_owner", "VARCHAR(128) NOT NULL DEFAULT ''"),  # the process holding the chunk
    ("lease_token", "VARCHAR(160) NOT NULL DEFAULT ''"),  # that one claim of it; '' = not claimed
    ("lease_expires", "DATETIME(6) NULL"),
)
_DUPLICATE_COLUMN = 1060
_TABLES = ("chunk_v1", "table_v1", "task_v1", "step_v1")  # every table holding rows of a task


def _micros(seconds: float) -> int:
    return int(seconds * 1_000_000)


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes | bytearray) else value


Cursor = Any  # a PyMySQL cursor


class MySQLStore(CheckpointStore):
    def __init__(self, connect: Callable[[], pymysql.Connection], schema: str) -> None:
        self._connect = connect
        self.schema = schema
        self._q = quote_identifier(schema)
        self._retry = RetryPolicy()
        self._conn: pymysql.Connection | None = self._open()
        self._lock = threading.RLock()
        self._execute(f"CREATE DATABASE IF NOT EXISTS {self._q}")
        for ddl in _DDL:
            self._execute(ddl.format(schema=self._q))
        have = {_text(r[0]).lower() for r in self._execute(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'chunk_v1'",
            (schema,))}
        for name, definition in _CHUNK_COLUMNS:
            if name not in have:
                try:
                    self._execute(f"ALTER TABLE {self._q}.`chunk_v1` ADD COLUMN `{name}` {definition}")
                except pymysql.err.OperationalError as exc:
                    if exc.args[0] != _DUPLICATE_COLUMN:  # another process added it at the same instant
                        raise

    def _execute(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement on the store's connection (autocommit; run again after a lost connection, so only
        statements that may be); see :meth:`_transaction`."""
        def one(cur: Cursor) -> list[tuple[Any, ...]]:
            cur.execute(sql, args)
            return list(cur.fetchall())
        return self._transaction(one, atomic=False)

    def _open(self) -> pymysql.Connection:
        """The store's own connection, in autocommit mode: a statement outside :meth:`_transaction` commits
        as the server finishes it, so it holds no lock while this process waits (see :meth:`claim_chunk`)."""
        conn = self._connect()
        conn.autocommit(True)
        return conn

    def _transaction(self, work: Callable[[Cursor], _T], *, atomic: bool = True) -> _T:
        """Run ``work(cursor)`` in one transaction on the store's connection, reconnecting with backoff if the
        server went away (the whole transaction is run again: nothing of a failed try was committed).
        ``atomic=False`` runs each statement of ``work`` on its own (``work`` must then be safe to run again
        after a failed try).

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
                        self._conn = self._open()
                    if atomic:
                        self._conn.begin()
                    try:
                        with self._conn.cursor() as cur:
                            result = work(cur)
                        if atomic:
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
                " WHERE `task_key` = %s ORDER BY `seq`", (key,))
            for ck, table, path, size, start, end, pos, cols, in_values, rows_written, finished in cur.fetchall():
                progress = ChunkProgress(ReadPosition(int(pos), columns_from_json(cols), bool(in_values)),
                                         int(rows_written), bool(finished))
                task.chunks[_text(ck)] = ChunkCheckpoint(
                    _text(ck), _text(table), _text(path), int(size), int(start), None if end is None else int(end),
                    progress)
            return task

        return self._transaction(read)  # one snapshot: the task, its tables and chunks as of one instant

    def create(self, task: TaskCheckpoint) -> None:
        self._transaction(lambda cur: self._insert(cur, task, replace_old=True))

    def load_or_create(self, task: TaskCheckpoint) -> tuple[TaskCheckpoint, bool]:
        """Insert the task row first: a run that starts at the same instant waits on it, then gets a duplicate
        key and loads what the first one created."""
        try:
            self._transaction(lambda cur: self._insert(cur, task, replace_old=False))
            return task.copy(), True
        except pymysql.err.IntegrityError:
            saved = self.load(task.task_id)
            if saved is None:  # removed again between the two statements: a finished import; start anew
                return self.load_or_create(task)
            return saved, False

    def _insert(self, cur: Cursor, task: TaskCheckpoint, *, replace_old: bool) -> None:
        key = task_key(task.task_id)
        rows = [
            (key, c.hashed_key, c.key, c.table, c.path, c.file_size, c.start, c.end, c.progress.position.offset,
             columns_to_json(c.progress.position.columns), int(c.progress.position.in_values), c.progress.rows,
             int(c.progress.finished), seq)
            for seq, c in enumerate(task.chunks.values())
        ]
        if replace_old:
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
                " `rows_written`, `finished`, `seq`) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s)",
                rows[i:i + 500],
            )

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

    def commit_progress(self, conn: Any, task_id: str, chunk_key: str, progress: ChunkProgress, *,
                        previous: ChunkProgress | None = None, token: str = "") -> None:
        """Write ``progress`` into the writer's open transaction, then commit rows and progress together.

        With ``previous``, a compare-and-set: the row must still hold the position and row count the batch
        started from, and the writer's lease ``token`` when it claimed the chunk. The position grows with
        every batch, so a matching row always changes and the affected-row count is 1 exactly when it matched.
        """
        pos = progress.position
        sql = (f"UPDATE {self._q}.`chunk_v1` SET `pos` = %s, `pos_columns` = %s, `pos_in_values` = %s,"
               " `rows_written` = %s WHERE `task_key` = %s AND `chunk_hash` = %s")
        args: tuple[Any, ...] = (pos.offset, columns_to_json(pos.columns), int(pos.in_values), progress.rows,
                                 task_key(task_id), fixed_key(chunk_key))
        if previous is not None:
            sql += " AND `pos` = %s AND `rows_written` = %s AND `finished` = 0"
            args += (previous.position.offset, previous.rows)
        if token:
            sql += " AND `lease_token` = %s"
            args += (token,)
        with conn.cursor() as cur:
            changed = cur.execute(sql, args)
        if (previous is not None or token) and changed != 1:
            conn.rollback()
            raise self._lost(conn, task_id, chunk_key, token)
        conn.commit()

    def _lost(self, conn: Any, task_id: str, chunk_key: str, token: str) -> LostChunk:
        """Why a compare-and-set failed, read on the writer's connection (its transaction rolled back already)."""
        with conn.cursor() as cur:
            cur.execute(f"SELECT `lease_owner`, `lease_token` FROM {self._q}.`chunk_v1` WHERE `task_key` = %s"
                        " AND `chunk_hash` = %s", (task_key(task_id), fixed_key(chunk_key)))
            row = cur.fetchone()
        conn.rollback()
        if row is None:
            why = "the task's checkpoint was removed or reset by another run"
        elif token and _text(row[1]) != token:
            why = (f"its lease expired and {_text(row[0]) or 'another worker'} took the chunk over (this worker "
                   "missed its lease renewals)")
        else:
            why = ("another run of the same task committed to it first: two runs of one task are writing at "
                   "once (to let several processes share an import, set [checkpoint] shared = true in each)")
        return LostChunk(f"task {task_id}: chunk {chunk_key} was not committed: {why}; the batch was rolled back")

    def committed_progress(self, conn: Any, task_id: str, chunk_key: str) -> ChunkProgress:
        """Read the chunk's row on the writer's fresh connection: what the server holds is what was committed."""
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT `pos`, `pos_columns`, `pos_in_values`, `rows_written`, `finished` FROM {self._q}.`chunk_v1`"
                " WHERE `task_key` = %s AND `chunk_hash` = %s",
                (task_key(task_id), fixed_key(chunk_key)),
            )
            row = cur.fetchone()
        conn.rollback()  # end the read's snapshot before the batch is sent again
        if row is None:
            raise CheckpointError(f"task {task_id}: chunk {chunk_key} is no longer in the checkpoint: it was removed "
                                  "or reset by another run of the task")
        pos, cols, in_values, rows, finished = row
        return ChunkProgress(ReadPosition(int(pos), columns_from_json(cols), bool(in_values)), int(rows),
                             bool(finished))

    def finish_chunk(self, task_id: str, chunk_key: str, progress: ChunkProgress, token: str = "") -> None:
        """Mark the chunk finished and give up its lease; with a ``token``, only while the lease is still it."""
        sql = (f"UPDATE {self._q}.`chunk_v1` SET `finished` = 1, `lease_owner` = '', `lease_token` = '',"
               " `lease_expires` = NULL WHERE `task_key` = %s AND `chunk_hash` = %s")
        args: tuple[Any, ...] = (task_key(task_id), fixed_key(chunk_key))
        if token:
            sql += " AND `lease_token` = %s AND `finished` = 0"
            args += (token,)

        def mark(cur: Cursor) -> int:
            return int(cur.execute(sql, args))

        if self._transaction(mark) != 1 and token:
            raise LostChunk(f"task {task_id}: chunk {chunk_key} was written to its end, but its lease was taken over "
                            "before it could be marked finished; the new owner finishes it")

    def complete_table(self, task_id: str, table: str) -> bool:
        """One conditional UPDATE: done only from schema-created (not done yet, not failed by another worker) and
        when no chunk of the table is unfinished."""
        key = task_key(task_id)

        def mark(cur: Cursor) -> int:
            return int(cur.execute(
                f"UPDATE {self._q}.`table_v1` SET `status` = %s WHERE `task_key` = %s AND `table_hash` = %s"
                f" AND `status` = %s AND NOT EXISTS (SELECT 1 FROM {self._q}.`chunk_v1` WHERE `task_key` = %s"
                " AND `table_name` = %s AND `finished` = 0)",
                (TableStatus.DONE.value, key, fixed_key(table), TableStatus.SCHEMA.value, key, table)))

        return self._transaction(mark) == 1

    def outlook(self, task_id: str) -> Outlook | None:
        key = task_key(task_id)

        def read(cur: Cursor) -> Outlook | None:
            cur.execute(f"SELECT COUNT(*) FROM {self._q}.`task_v1` WHERE `task_key` = %s", (key,))
            if cur.fetchone()[0] == 0:
                return None
            cur.execute(  # chunks of a table another worker failed are not left to do: the import stops
                "SELECT c.`table_name`, SUM(c.`rows_written`), SUM(c.`finished` = 0 AND t.`status` <> %s),"
                " SUM(c.`finished` = 0 AND t.`status` <> %s AND (c.`lease_token` = '' OR c.`lease_expires` < NOW(6)))"
                f" FROM {self._q}.`chunk_v1` c JOIN {self._q}.`table_v1` t ON t.`task_key` = c.`task_key`"
                " AND t.`table_name` = c.`table_name` WHERE c.`task_key` = %s GROUP BY c.`table_name`",
                (TableStatus.FAILED.value, TableStatus.FAILED.value, key))
            found = [(_text(t), int(r), int(u), int(c)) for t, r, u, c in cur.fetchall()]
            return Outlook({t: r for t, r, _, _ in found}, sum(u for *_, u, _ in found), sum(c for *_, c in found))

        return self._transaction(read)

    # -- claims and leases ---------------------------------------------------------------------------

    def claim_chunk(self, task_id: str, owner: str, token: str, lease: float,
                    tables: list[str] | None = None) -> Claim | None:
        """One UPDATE takes the first free chunk in plan order; the token reads back which one it was.

        The UPDATE commits by itself, as the server runs it: in a transaction, it would keep every row it
        scanned locked until COMMIT, and a worker paused between the two (a stopped VM, a starved host)
        would block every other worker's claim for as long as it stays paused, lease or no lease. A try
        after a lost connection first looks for the token: the lost UPDATE may have taken a chunk.
        """
        key = task_key(task_id)
        where = ""
        args: list[Any] = [owner, token, _micros(lease), key, key, TableStatus.FAILED.value]
        if tables:
            where = f" AND `table_name` IN ({', '.join(['%s'] * len(tables))})"
            args += tables

        def read_back(cur: Cursor) -> Claim | None:
            cur.execute(f"SELECT `chunk_key`, `pos`, `pos_columns`, `pos_in_values`, `rows_written` FROM"
                        f" {self._q}.`chunk_v1` WHERE `task_key` = %s AND `lease_token` = %s", (key, token))
            row = cur.fetchone()
            if row is None:
                return None
            chunk, pos, cols, in_values, rows = row
            return Claim(_text(chunk), token, ChunkProgress(ReadPosition(int(pos), columns_from_json(cols),
                                                                         bool(in_values)), int(rows)))

        first_try = True

        def claim(cur: Cursor) -> Claim | None:
            nonlocal first_try
            if not first_try and (earlier := read_back(cur)) is not None:
                return earlier
            first_try = False
            taken = cur.execute(
                f"UPDATE {self._q}.`chunk_v1` SET `lease_owner` = %s, `lease_token` = %s,"
                " `lease_expires` = NOW(6) + INTERVAL %s MICROSECOND WHERE `task_key` = %s AND `finished` = 0"
                f" AND (`lease_token` = '' OR `lease_expires` < NOW(6)) AND `table_name` NOT IN (SELECT `table_name`"
                f" FROM {self._q}.`table_v1` WHERE `task_key` = %s AND `status` = %s){where} ORDER BY `seq` LIMIT 1",
                args)
            if taken != 1:
                return None
            fault_point("chunk-claimed")
            return read_back(cur)

        return self._transaction(claim, atomic=False)

    def renew(self, task_id: str, owner: str, lease: float) -> None:
        key = task_key(task_id)

        def extend(cur: Cursor) -> None:
            for name in ("chunk_v1", "step_v1"):
                cur.execute(f"UPDATE {self._q}.`{name}` SET `lease_expires` = NOW(6) + INTERVAL %s MICROSECOND"
                            " WHERE `task_key` = %s AND `lease_owner` = %s", (_micros(lease), key, owner))

        self._transaction(extend, atomic=False)  # each UPDATE commits alone: no lock waits on this process

    def release(self, task_id: str, owner: str) -> None:
        key = task_key(task_id)

        def free(cur: Cursor) -> None:
            cur.execute(f"UPDATE {self._q}.`chunk_v1` SET `lease_owner` = '', `lease_token` = '',"
                        " `lease_expires` = NULL WHERE `task_key` = %s AND `lease_owner` = %s", (key, owner))
            cur.execute(f"UPDATE {self._q}.`step_v1` SET `lease_owner` = '', `lease_expires` = NULL"
                        " WHERE `task_key` = %s AND `lease_owner` = %s", (key, owner))

        self._transaction(free)

    def claim_step(self, task_id: str, step: str, owner: str, lease: float, *, alone: bool = False) -> StepState:
        """The step's row is made on first use; taking it is one conditional UPDATE, as for chunks, and as for
        chunks each statement commits alone: a worker paused here holds no lock on the step's row (which
        would stall the others' claims of the step, and with them their lease renewals)."""
        key = task_key(task_id)

        def claim(cur: Cursor) -> StepState:
            cur.execute(f"SELECT COUNT(*) FROM {self._q}.`task_v1` WHERE `task_key` = %s", (key,))
            if cur.fetchone()[0] == 0:
                return StepState.DONE  # the import finished and its checkpoint was removed
            if alone:
                cur.execute(f"SELECT COUNT(*) FROM {self._q}.`step_v1` WHERE `task_key` = %s AND `step` LIKE %s"
                            " AND `lease_owner` NOT IN ('', %s) AND `done` = 0 AND `lease_expires` >= NOW(6)",
                            (key, WORKER_STEP + "%", owner))
                if cur.fetchone()[0]:
                    return StepState.BUSY  # another worker is still in the data phase
            cur.execute(f"INSERT IGNORE INTO {self._q}.`step_v1` (`task_key`, `step`) VALUES (%s, %s)", (key, step))
            taken = cur.execute(
                f"UPDATE {self._q}.`step_v1` SET `lease_owner` = %s, `lease_expires` = NOW(6) + INTERVAL %s"
                " MICROSECOND WHERE `task_key` = %s AND `step` = %s AND `done` = 0 AND (`lease_owner` = ''"
                " OR `lease_expires` < NOW(6))", (owner, _micros(lease), key, step))
            if taken == 1:
                fault_point("step-claimed")
                return StepState.MINE
            cur.execute(f"SELECT `done` FROM {self._q}.`step_v1` WHERE `task_key` = %s AND `step` = %s", (key, step))
            return StepState.DONE if cur.fetchone()[0] else StepState.BUSY

        return self._transaction(claim, atomic=False)

    def finish_step(self, task_id: str, step: str, owner: str) -> None:
        self._execute(f"UPDATE {self._q}.`step_v1` SET `done` = 1, `lease_owner` = '', `lease_expires` = NULL"
                      " WHERE `task_key` = %s AND `step` = %s AND `lease_owner` = %s", (task_key(task_id), step, owner))

    def _delete(self, cur: Cursor, key: str) -> None:
        for name in _TABLES:
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
            for name in ("chunk_v1", "table_v1", "step_v1"):
                cur.execute(f"UPDATE {self._q}.`{name}` SET `task_key` = %s WHERE `task_key` = %s", (new, old))

        self._transaction(move)

    def task_ids(self) -> list[str]:
        return sorted(_text(r[0]) for r in self._execute(f"SELECT `task_id` FROM {self._q}.`task_v1`"))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()

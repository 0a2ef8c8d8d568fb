"""Finished records: "task T finished, and this was its summary", kept after the checkpoint is gone.

When an import finishes, its checkpoint is cleaned up (``keep-after-success``). An Airflow worker
can still die after that and before Airflow records the task's success; the retry would then find
no checkpoint and import everything again (failing on its own rows with ``on-duplicate = "error"``,
rewriting them with ``replace``). The operator therefore asks for a finished record, written before
the checkpoint is cleaned up: a retry that finds it returns the recorded summary and writes
nothing. The command line does not ask for one, and keeps tidb-lightning's behaviour.

Records live in ``finished_v1`` of the checkpoint schema, keyed like the checkpoint (the task id's
hash; the operator's task id names the DAG run, so the next run never sees this run's record), and
are swept ``RETENTION_DAYS`` after they were written: far longer than any retry schedule.
"""

from __future__ import annotations

import json
from typing import Any

from ..common.quoting import quote_identifier
from .model import task_key

RETENTION_DAYS = 7

_DDL = """CREATE TABLE IF NOT EXISTS {schema}.`finished_v1` (
    `task_key` CHAR(40) NOT NULL PRIMARY KEY,
    `task_id` VARCHAR(1024) NOT NULL,
    `summary` MEDIUMTEXT NOT NULL,
    `finish_time` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)"""

Cursor = Any  # a PyMySQL cursor


def recorded_summary(cur: Cursor, schema: str, task_id: str) -> dict[str, Any] | None:
    """The summary recorded when ``task_id`` finished, or None if it has not (or the record was swept)."""
    q = quote_identifier(schema)
    cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = "
                "'finished_v1'", (schema,))
    if not cur.fetchone()[0]:
        return None
    cur.execute(f"SELECT `summary` FROM {q}.`finished_v1` WHERE `task_key` = %s", (task_key(task_id),))
    row = cur.fetchone()
    if row is None:
        return None
    text = row[0].decode() if isinstance(row[0], bytes | bytearray) else row[0]
    summary: dict[str, Any] = json.loads(text)
    return summary


def record_finished(cur: Cursor, schema: str, task_id: str, summary: dict[str, Any]) -> None:
    """Record that ``task_id`` finished with ``summary`` (JSON), and sweep records past their retention."""
    q = quote_identifier(schema)
    cur.execute(_DDL.format(schema=q))
    cur.execute(f"INSERT INTO {q}.`finished_v1` (`task_key`, `task_id`, `summary`) VALUES (%s, %s, %s) "
                "ON DUPLICATE KEY UPDATE `summary` = VALUES(`summary`), `finish_time` = CURRENT_TIMESTAMP",
                (task_key(task_id), task_id, json.dumps(summary)))
    cur.execute(f"DELETE FROM {q}.`finished_v1` WHERE `finish_time` < NOW() - INTERVAL {RETENTION_DAYS} DAY")


def forget_finished(cur: Cursor, schema: str, task_id: str) -> bool:
    """Drop the record of ``task_id`` (so the task imports again); True if there was one."""
    if recorded_summary(cur, schema, task_id) is None:
        return False
    cur.execute(f"DELETE FROM {quote_identifier(schema)}.`finished_v1` WHERE `task_key` = %s", (task_key(task_id),))
    return True

"""Retries are never silent: each one is a warning (attempt n of N, the error, the wait); giving up says how long.

A lost connection is made with ``TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT`` in a real command-line run;
giving up is the checkpoint store's connection killed on the server while the server's address
has moved to a port where nothing listens.
"""

from __future__ import annotations

import logging
import re
from contextlib import ExitStack

import pymysql
import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints import MySQLStore
from airflow_provider_tidb_lightning.lightning.common.connection import connect
from airflow_provider_tidb_lightning.lightning.common.retry import RetryPolicy
from tests.support.checkpoint_checks import TOTAL_ROWS, assert_exact
from tests.support.cli_task import run_cli, summary_of, write_task
from tests.support.ports import closed_port


def test_a_lost_connection_is_logged_as_a_warning_and_the_import_stays_exact(
        db_server, target, reference_db, sample_sql, tmp_path, monkeypatch):
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error")
    monkeypatch.setenv("TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT", "batch-sent:3")
    result = run_cli(task, task_id="retried")
    monkeypatch.delenv("TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT")
    assert summary_of(result)["total_rows"] == TOTAL_ROWS
    warnings = [line for line in result.stderr.splitlines() if "[WARNING]" in line]
    assert len(warnings) == 1, result.stderr[-3000:]
    assert re.search(r"table `\w+`\.`\w+`: writing tpch\.\w+\.\d+\.sql at byte offset \d+ failed "
                     r"\(attempt 1 of 12\): Error 2013: Lost connection .*; retrying in 0\.1 s$", warnings[0]), warnings
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)


def test_giving_up_says_how_many_tries_over_how_long(db_server, fresh_db, caplog):
    reachable = [True]
    dead = ExitStack()

    def open_connection() -> pymysql.Connection:
        if reachable[0]:
            return connect(db_server.tidb_section())
        return connect(db_server.tidb_section(host="127.0.0.1", port=dead.enter_context(closed_port())))

    store = MySQLStore(open_connection, f"{fresh_db}_ckpt_retry")
    store._retry = RetryPolicy(attempts=3, first_delay=0.05)  # noqa: SLF001 - a short policy for the test
    try:
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"KILL {store._conn.thread_id()}")  # noqa: SLF001 - the store's own session, killed
        reachable[0] = False
        with caplog.at_level(logging.WARNING), pytest.raises(pymysql.err.OperationalError):
            store.task_ids()
    finally:
        dead.close()
        reachable[0] = True
        store.close()
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{fresh_db}_ckpt_retry`")
    messages = [r.getMessage() for r in caplog.records]
    retries = [m for m in messages if "retrying in" in m]
    assert len(retries) == 2, messages
    assert "(attempt 1 of 3)" in retries[0] and "(attempt 2 of 3)" in retries[1]
    gave_up = re.search(r"checkpoint store \(schema `\S+`\): gave up after 3 tries over (\d+\.\d) s", messages[-1])
    # At least the two waits (0.05 s and 0.1 s, at one decimal); no upper bound: a loaded machine is slow.
    assert gave_up is not None and float(gave_up[1]) >= 0.1, messages

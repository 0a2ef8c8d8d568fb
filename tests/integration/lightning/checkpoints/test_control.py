"""Checkpoint control: ``checkpoints.control`` and the ``tidb-lightning-py-ctl`` command on a mysql checkpoint.

A table is made to fail the way it does in production: the target already holds a row with one of
the dump's keys and ``on-duplicate = "error"``. Then each way out is taken and the data checked.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints import control, open_store
from airflow_provider_tidb_lightning.lightning.common.connection import connect
from airflow_provider_tidb_lightning.lightning.config import load_task_config
from airflow_provider_tidb_lightning.lightning.errors import CheckpointError, ImportFailed
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import assert_exact, checkpoint_state
from tests.support.cli_task import run_cli, summary_of, write_task
from tests.support.db_checks import TPCH_COUNTS
from tests.support.paths import REPO

TABLES = ("nation", "orders")




def ctl(task: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.ctl", "--config", str(task), *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def _rows(summary: dict) -> dict[str, int]:
    return {t["table"].split("`.`")[1].rstrip("`"): t["rows"] for t in summary["tables"]}


class FailedImport:
    """An import of nation + orders whose orders table failed on a duplicate key half-way through."""

    def __init__(self, server, db: str, reference: str, source: Path, tmp_path: Path) -> None:
        self.server, self.db, self.source = server, db, source
        self.task = write_task(tmp_path / "task.toml", server, db, source, tables=TABLES, mode="error")
        self.config = load_task_config(str(self.task))
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT o_orderkey FROM `{reference}`.orders ORDER BY o_orderkey LIMIT 1 OFFSET 7500")
            self.key = cur.fetchone()[0]
            cur.execute(f"CREATE TABLE `{db}`.orders LIKE `{reference}`.orders")
            cur.execute(f"INSERT INTO `{db}`.orders SELECT * FROM `{reference}`.orders WHERE o_orderkey = %s",
                        (self.key,))
            cur.execute(f"UPDATE `{db}`.orders SET o_comment = 'already here' WHERE o_orderkey = %s", (self.key,))
        with pytest.raises(ImportFailed) as info:
            run_import(self.config, task_id="ctl")
        self.error = str(info.value)
        with server.connect() as conn:
            self.state = checkpoint_state(conn, db, "ctl")
        self.committed = self.state["rows"]["orders"]

    def remove_conflicting_row(self) -> None:
        with self.server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DELETE FROM `{self.db}`.orders WHERE o_orderkey = %s AND o_comment = 'already here'",
                        (self.key,))


@pytest.fixture
def failed(db_server, target, reference_db, sample_sql, tmp_path) -> FailedImport:
    return FailedImport(db_server, target, reference_db, sample_sql, tmp_path)


def test_failed_table_is_remembered(failed, db_server):
    assert "Duplicate entry" in failed.error and "tpch.orders.sql" in failed.error
    assert failed.state["statuses"] == {"nation": "done", "orders": "failed"}
    assert 0 < failed.committed < TPCH_COUNTS["orders"]  # batches before the duplicate are in
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{failed.db}`.orders")
        assert cur.fetchone()[0] == failed.committed + 1  # plus the row that was already there
    with pytest.raises(CheckpointError) as info:
        run_import(failed.config, task_id="ctl")
    message = str(info.value)
    assert f"`{failed.db}`.`orders`" in message and "Duplicate entry" in message
    assert "--checkpoint-error-ignore=all" in message and "--checkpoint-error-destroy=all" in message


def test_ctl_error_ignore_continues_from_the_saved_position(failed, db_server, reference_db):
    failed.remove_conflicting_row()  # fix the cause first
    result = ctl(failed.task, "--checkpoint-error-ignore=all")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"ctl: `{failed.db}`.`orders`"]
    with db_server.connect() as conn:
        assert checkpoint_state(conn, failed.db, "ctl")["statuses"] == {"nation": "done", "orders": "schema-created"}

    summary = summary_of(run_cli(failed.task, task_id="ctl"))
    assert summary["resumed"] is True
    assert _rows(summary) == {"nation": 0, "orders": TPCH_COUNTS["orders"] - failed.committed}
    with db_server.connect() as conn:
        assert_exact(conn, failed.db, reference_db, TABLES)


def test_error_ignore_without_fixing_fails_again_at_the_same_row(failed):
    """Ignoring the error does not skip the row: the run continues where it stopped and meets it again."""
    store = open_store(failed.config.checkpoint, lambda: connect(failed.config.tidb))
    try:
        assert control.error_ignore(store, f"{failed.db}.orders") == [f"ctl: `{failed.db}`.`orders`"]
        assert control.error_ignore(store, "all") == []  # nothing failed any more
    finally:
        store.close()
    with pytest.raises(ImportFailed, match="Duplicate entry") as info:
        run_import(failed.config, task_id="ctl")
    assert str(info.value) == failed.error  # same file, same byte offset


@pytest.mark.parametrize("how", ["ctl", "python"])
def test_error_destroy_drops_the_table_and_the_next_run_reimports_it(failed, db_server, reference_db, how):
    if how == "ctl":
        result = ctl(failed.task, "--task-id", "ctl", f"--checkpoint-error-destroy={failed.db}.orders")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [f"ctl: `{failed.db}`.`orders`"]
    else:
        store = open_store(failed.config.checkpoint, lambda: connect(failed.config.tidb))
        conn = connect(failed.config.tidb)
        try:
            assert control.error_destroy(store, conn, "all") == [f"ctl: `{failed.db}`.`orders`"]
        finally:
            conn.close()
            store.close()
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s AND TABLE_NAME='orders'",
                    (failed.db,))
        assert cur.fetchone()[0] == 0  # dropped, with the conflicting row and the partial data
        state = checkpoint_state(conn, failed.db, "ctl")
    assert state["statuses"] == {"nation": "done", "orders": "pending"}
    assert state["rows"] == {"nation": 25, "orders": 0}

    summary = summary_of(run_cli(failed.task, task_id="ctl"))
    assert _rows(summary) == {"nation": 0, "orders": TPCH_COUNTS["orders"]}
    with db_server.connect() as conn:
        assert_exact(conn, failed.db, reference_db, TABLES)
        assert checkpoint_state(conn, failed.db, "ctl")["exists"] is False


def test_ctl_dump_writes_the_checkpoint_as_csv(failed, tmp_path):
    out = tmp_path / "dump"
    result = ctl(failed.task, f"--checkpoint-dump={out}")
    assert result.returncode == 0, result.stderr
    assert sorted(Path(p).name for p in result.stdout.split()) == ["chunks.csv", "tables.csv", "tasks.csv"]

    def read(name: str) -> list[dict[str, str]]:
        with open(out / name, newline="") as f:
            return list(csv.DictReader(f))

    tasks = read("tasks.csv")
    assert [t["task_id"] for t in tasks] == ["ctl"] and len(tasks[0]["fingerprint"]) == 64
    tables = {r["table"]: r for r in read("tables.csv")}
    nation, orders = f"`{failed.db}`.`nation`", f"`{failed.db}`.`orders`"
    assert {k: v["status"] for k, v in tables.items()} == {nation: "done", orders: "failed"}
    assert tables[orders]["error"] == failed.error
    assert tables[nation]["error"] == "" and tables[nation]["target_id"].startswith(("id:", "created:"))
    chunks = {r["path"]: r for r in read("chunks.csv")}
    assert sorted(chunks) == ["tpch.nation.sql", "tpch.orders.sql"]
    n, o = chunks["tpch.nation.sql"], chunks["tpch.orders.sql"]
    assert (n["table"], n["finished"], n["rows"], n["start"], n["end"]) == (nation, "1", "25", "0", "")
    assert n["file_size"] == str((failed.source / "tpch.nation.sql").stat().st_size) == n["position"]
    assert (o["table"], o["finished"], o["rows"]) == (orders, "0", str(failed.committed))
    assert 0 < int(o["position"]) < int(o["file_size"]) == (failed.source / "tpch.orders.sql").stat().st_size
    assert o["chunk"] == "tpch.orders.sql:0" and o["task_id"] == "ctl"


@pytest.fixture
def two_finished_tasks(db_server, target, reference_db, sample_sql, tmp_path):
    """Tasks "a" and "b", both finished and kept (keep-after-success = "origin")."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, tables=TABLES, mode="replace",
                      checkpoint={"keep-after-success": "origin"})
    for task_id in ("a", "b"):
        summary_of(run_cli(task, task_id=task_id))
    return task


def test_ctl_remove_one_table_reimports_only_that_table(two_finished_tasks, db_server, target, reference_db):
    task = two_finished_tasks
    result = ctl(task, "--task-id", "a", f"--checkpoint-remove={target}.nation")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"a: `{target}`.`nation`"]
    with db_server.connect() as conn:
        a, b = checkpoint_state(conn, target, "a"), checkpoint_state(conn, target, "b")
    assert a["statuses"] == {"nation": "pending", "orders": "done"} and a["rows"] == {"nation": 0, "orders": 15000}
    assert b["statuses"] == {"nation": "done", "orders": "done"}  # the other task is untouched

    summary = summary_of(run_cli(task, task_id="a"))
    assert _rows(summary) == {"nation": 25, "orders": 0}
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, TABLES)


def test_remove_all_forgets_every_task(two_finished_tasks, db_server, target, reference_db):
    task = two_finished_tasks
    result = ctl(task, "--checkpoint-remove=all")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == ["a", "b"]
    with db_server.connect() as conn:
        assert not checkpoint_state(conn, target, "a")["exists"] and not checkpoint_state(conn, target, "b")["exists"]
        with conn.cursor() as cur:
            for table in ("task_v1", "table_v1", "chunk_v1"):
                cur.execute(f"SELECT COUNT(*) FROM `{target}_ckpt`.`{table}`")
                assert cur.fetchone()[0] == 0, table
    again = ctl(task, "--checkpoint-remove=all")
    assert again.returncode == 0 and again.stdout == "" and "nothing to do" in again.stderr
    # A forgotten task starts over: every row is sent again (replace keeps the data as it was).
    summary = summary_of(run_cli(task, task_id="a"))
    assert summary["resumed"] is False and _rows(summary) == {"nation": 25, "orders": 15000}
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, TABLES)


def test_remove_python_api_and_bad_table_name(two_finished_tasks, db_server, target):
    cfg = load_task_config(str(two_finished_tasks))
    store = open_store(cfg.checkpoint, lambda: connect(cfg.tidb))
    try:
        with pytest.raises(ValueError, match="db.tbl"):
            control.remove(store, "nation")
        assert control.remove(store, f"`{target}`.`orders`", task_id="b") == [f"b: `{target}`.`orders`"]
        assert control.remove(store, "all", task_id="b") == ["b"]
        assert store.task_ids() == ["a"]
    finally:
        store.close()
    result = ctl(two_finished_tasks, "--checkpoint-remove=nation")
    assert result.returncode == 2 and "must be db.tbl" in result.stderr

"""Resuming in the awkward cases: lost connections, a changed source, a recreated target table, another host
spelling, each ``keep-after-success`` mode, and a restart of the server itself."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pymysql
import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints.model import task_key
from airflow_provider_tidb_lightning.lightning.config import load_task_config
from airflow_provider_tidb_lightning.lightning.errors import CheckpointError
from airflow_provider_tidb_lightning.lightning.importer.plan import derive_task_id
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import TOTAL_ROWS, assert_consistent_after_crash, assert_exact, checkpoint_state
from tests.support.cli_task import TABLES, run_cli, summary_of, write_task
from tests.support.db_checks import TPCH_COUNTS, load_with_client
from tests.support.db_server import start_private_server
from tests.support.engine_helpers import task_config


def _config(server, source: Path, db: str, mode: str = "error", tables: tuple[str, ...] = TABLES, **sections):
    return task_config(server, source, db, mydumper={"filter": [f"tpch.{t}" for t in tables]},
                       lightning={"region-concurrency": 2},
                       tikv_importer={"on-duplicate": mode, "logical-import-batch-size": "16KiB"}, **sections)


# -- (a) writer connections killed by the server -----------------------------------------------------------


class ConnectionKiller(threading.Thread):
    """Kill the writer sessions of ``db`` from the server side while they are busy, ``limit`` times.

    A writer is recognised by its INSERT into the target; once seen, its session is also killed
    while it updates the checkpoint or commits (the case where the batch may or may not have landed).
    """

    def __init__(self, server, db: str, limit: int = 8, pause: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.server, self.db, self.limit, self.pause = server, db, limit, pause
        self.stop = threading.Event()
        self.killed: list[str] = []

    def run(self) -> None:
        writers: set[int] = set()
        with self.server.connect() as conn, conn.cursor() as cur:
            while not self.stop.is_set() and len(self.killed) < self.limit:
                try:
                    cur.execute("SHOW FULL PROCESSLIST")
                except pymysql.err.MySQLError:
                    continue
                for row in cur.fetchall():
                    pid, info = row[0], row[7]
                    if isinstance(info, bytes):
                        info = info[:80].decode(errors="replace")
                    head = (info or "")[:80]
                    if f"INTO `{self.db}`." in head:
                        writers.add(pid)
                    elif pid not in writers or not (head.startswith("UPDATE") or head.upper() == "COMMIT"):
                        continue
                    # Alternate: even kills hit an INSERT, odd ones the checkpoint update / commit.
                    want_insert = len(self.killed) % 2 == 0
                    if want_insert != head.startswith(("INSERT", "REPLACE")) and len(self.killed) > 0:
                        continue
                    try:
                        cur.execute(f"KILL {int(pid)}")
                    except pymysql.err.MySQLError:
                        continue  # finished meanwhile
                    self.killed.append(head[:40])
                    time.sleep(self.pause)
                    break


@pytest.mark.parametrize("mode", ["error", "ignore"])
def test_writer_connections_killed_mid_import(sample_sql, db_server, target, reference_db, mode):
    cfg = _config(db_server, sample_sql, target, mode)
    killer = ConnectionKiller(db_server, target)
    killer.start()
    try:
        summary = run_import(cfg, task_id="killed-connections")
    finally:
        killer.stop.set()
        killer.join()
    assert len(killer.killed) >= 3, killer.killed  # the import really lost connections
    # ... and at least once inside a batch's transaction after its rows: the checkpoint update or COMMIT.
    assert any(not k.startswith(("INSERT", "REPLACE")) for k in killer.killed), killer.killed
    assert summary.total_rows == TOTAL_ROWS  # no batch counted twice, none lost
    assert all(t.conflicts == 0 and t.skipped_rows == 0 for t in summary.tables)
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)


# -- (b) the source changed between a killed run and the rerun --------------------------------------------


def _copy_sample(sample_sql: Path, directory: Path, tables: tuple[str, ...]) -> Path:
    directory.mkdir()
    shutil.copy(sample_sql / "tpch-schema-create.sql", directory)
    for table in tables:
        for path in sample_sql.glob(f"tpch.{table}[.-]*"):
            shutil.copy2(path, directory)  # with its times: the rerun compares them
    for path in directory.iterdir():
        path.chmod(0o644)
    return directory


@pytest.mark.parametrize("change", ["added", "removed", "resized"])
def test_changed_source_is_refused_with_the_file_named(sample_sql, db_server, target, reference_db, tmp_path, change):
    tables = ("nation", "orders")
    source = _copy_sample(sample_sql, tmp_path / "dump", tables)
    task = write_task(tmp_path / "task.toml", db_server, target, source, tables=tables)
    killed = run_cli(task, task_id="changed", kill_at="batch-committed:20")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]

    orders = source / "tpch.orders.sql"
    original, times = orders.read_bytes(), orders.stat()
    if change == "added":
        (source / "tpch.orders.00001.sql").write_text("INSERT INTO `orders` VALUES (70000,1,'O',1.00,'1998-01-01',"
                                                      "'1-URGENT','Clerk#000000001',0,'x');\n")
        expected = "added: tpch.orders.00001.sql"
    elif change == "removed":
        (source / "tpch.nation.sql").unlink()
        expected = "removed: tpch.nation.sql"
    else:
        orders.write_bytes(original + b"\n")
        expected = f"resized: tpch.orders.sql (was {len(original)} bytes, now {len(original) + 1})"
    cfg = load_task_config(str(task))
    with pytest.raises(CheckpointError) as info:
        run_import(cfg, task_id="changed")
    message = str(info.value)
    assert expected in message, message
    assert "Restore the original files" in message and "--checkpoint-remove=all" in message
    assert "task changed" in message

    # Following the first piece of advice: the original files back, and the rerun resumes exactly.
    if change == "added":
        (source / "tpch.orders.00001.sql").unlink()
    elif change == "removed":
        shutil.copy2(sample_sql / "tpch.nation.sql", source)  # restored with its modification time
    else:
        orders.write_bytes(original)
        os.utime(orders, ns=(times.st_atime_ns, times.st_mtime_ns))
    summary = run_import(load_task_config(str(task)), task_id="changed")
    assert summary.resumed
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, tables)


# -- (c) the target table was dropped (and recreated) between runs -----------------------------------------


@pytest.mark.parametrize("recreate", [True, False], ids=["recreated", "dropped"])
def test_recreated_target_table_is_refused_with_the_table_named(sample_sql, db_server, target, reference_db, tmp_path,
                                                                recreate):
    tables = ("nation", "orders")
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, tables=tables)
    killed = run_cli(task, task_id="recreated", kill_at="batch-committed:20")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SHOW CREATE TABLE `{target}`.`orders`")
        ddl = cur.fetchone()[1]
        cur.execute(f"DROP TABLE `{target}`.`orders`")
        if recreate:
            cur.execute(f"USE `{target}`")
            cur.execute(ddl)  # same name, same columns, empty: only its identity tells

    with pytest.raises(CheckpointError) as info:
        run_import(load_task_config(str(task)), task_id="recreated")
    message = str(info.value)
    assert f"table `{target}`.`orders` was dropped or recreated" in message, message
    assert ("missing now" in message) != recreate
    assert f"--checkpoint-remove='`{target}`.`orders`'" in message

    # The advice works: forget that table's checkpoint, and the rerun imports it from the start.
    ctl = subprocess.run(
        [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.ctl", "--config", str(task), "--task-id",
         "recreated", f"--checkpoint-remove={target}.orders"], capture_output=True, text=True, check=False)
    assert ctl.returncode == 0, ctl.stderr
    assert ctl.stdout.strip() == f"recreated: `{target}`.`orders`"
    summary = summary_of(run_cli(task, task_id="recreated"))
    rows = {t["table"].split("`.`")[1].rstrip("`"): t["rows"] for t in summary["tables"]}
    assert rows == {"nation": 0, "orders": TPCH_COUNTS["orders"]}  # nation was done; orders from the start
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, tables)


# -- (d) the task id does not depend on how the host is spelt ----------------------------------------------


def _other_spelling(host: str) -> str:
    if host == "127.0.0.1":
        return "localhost"
    if host == "localhost":
        return "127.0.0.1"
    return socket.gethostbyname(host)


def test_task_id_ignores_host_and_port_but_not_the_selection(sample_sql, db_server, target):
    cfg = _config(db_server, sample_sql, target)
    same = _config(db_server, sample_sql, target,
                   tidb={"host": _other_spelling(db_server.host), "port": db_server.port + 1})
    other = _config(db_server, sample_sql, target, tables=("orders",))
    assert derive_task_id(cfg) == derive_task_id(same)
    assert derive_task_id(cfg) != derive_task_id(other)
    assert derive_task_id(cfg).startswith("mydumper-sql-")


def test_rerun_through_another_host_spelling_resumes(sample_sql, db_server, target, reference_db, tmp_path):
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql)
    killed = run_cli(task, kill_at="batch-committed:100")  # derived task id
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    task_id = derive_task_id(load_task_config(str(task)))
    with db_server.connect() as conn:
        committed = sum(assert_consistent_after_crash(conn, target, task_id)["rows"].values())
    assert committed > 0

    summary = summary_of(run_cli(task, host=_other_spelling(db_server.host)))
    assert summary["task_id"] == task_id and summary["resumed"] is True
    assert summary["total_rows"] == TOTAL_ROWS - committed
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)


# -- (e) keep-after-success ---------------------------------------------------------------------------------


def _checkpoint_task_ids(conn, db: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT `task_id` FROM `{db}_ckpt`.`task_v1` ORDER BY 1")
        return [r[0] for r in cur.fetchall()]


def _checkpoint_row_counts(conn, db: str, task_id: str) -> tuple[int, int, int]:
    key = task_key(task_id)
    with conn.cursor() as cur:
        counts = []
        for table in ("task_v1", "table_v1", "chunk_v1"):
            cur.execute(f"SELECT COUNT(*) FROM `{db}_ckpt`.`{table}` WHERE `task_key` = %s", (key,))
            counts.append(int(cur.fetchone()[0]))
    return tuple(counts)


SMALL = ("nation", "orders")


def test_keep_after_success_remove_leaves_no_checkpoint_rows(sample_sql, db_server, target, reference_db):
    cfg = _config(db_server, sample_sql, target, tables=SMALL, checkpoint={"keep-after-success": "remove"})
    summary = run_import(cfg, task_id="keep-remove")
    assert summary.total_rows == 15025
    with db_server.connect() as conn:
        assert _checkpoint_row_counts(conn, target, "keep-remove") == (0, 0, 0)
        assert _checkpoint_task_ids(conn, target) == []
        assert_exact(conn, target, reference_db, SMALL)
    # Nothing remembered: a rerun starts over and sends every row again (replace makes that harmless).
    again = run_import(_config(db_server, sample_sql, target, "replace", tables=SMALL), task_id="keep-remove")
    assert not again.resumed and again.total_rows == 15025
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, SMALL)


def test_keep_after_success_rename_keeps_rows_under_a_new_id(sample_sql, db_server, target, reference_db):
    cfg = _config(db_server, sample_sql, target, tables=SMALL, checkpoint={"keep-after-success": "rename"})
    run_import(cfg, task_id="keep-rename")
    with db_server.connect() as conn:
        ids = _checkpoint_task_ids(conn, target)
        assert len(ids) == 1 and ids[0].startswith("keep-rename.done-"), ids
        assert _checkpoint_row_counts(conn, target, "keep-rename") == (0, 0, 0)
        assert _checkpoint_row_counts(conn, target, ids[0]) == (1, 2, 2)
        state = checkpoint_state(conn, target, ids[0])
        assert state["statuses"] == {"nation": "done", "orders": "done"} and state["finished_chunks"] == 2
        assert state["rows"] == {"nation": 25, "orders": 15000}
    # The renamed state belongs to another id: a rerun under the old id starts from the beginning.
    # With on-duplicate = "error" that means duplicates, and the run stops on the first one.
    with pytest.raises(Exception, match="Duplicate entry"):
        run_import(cfg, task_id="keep-rename")
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, SMALL)  # the failed rerun changed nothing


def test_keep_after_success_origin_makes_a_rerun_a_no_op(sample_sql, db_server, target, reference_db):
    cfg = _config(db_server, sample_sql, target, tables=SMALL, checkpoint={"keep-after-success": "origin"})
    run_import(cfg, task_id="keep-origin")
    with db_server.connect() as conn:
        assert _checkpoint_row_counts(conn, target, "keep-origin") == (1, 2, 2)
    again = run_import(cfg, task_id="keep-origin")
    assert again.resumed and again.total_rows == 0
    assert [t.status for t in again.tables] == ["skipped", "skipped"]
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, SMALL)
        assert _checkpoint_row_counts(conn, target, "keep-origin") == (1, 2, 2)


# -- (f) the server restarts mid-import ---------------------------------------------------------------------


@pytest.fixture
def private_server():
    """A MariaDB of this test's own (the session's server must not go down), restartable in place."""
    mariadb, server = start_private_server()

    def restart(down_seconds: float) -> None:
        assert mariadb.process is not None
        args = mariadb.process.args
        mariadb.stop(remove=False)
        time.sleep(down_seconds)
        mariadb.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    try:
        yield server, restart
    finally:
        mariadb.stop()


def test_server_restart_mid_import_is_ridden_out(sample_sql, private_server):
    server, restart = private_server
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE ref")
        cur.execute("CREATE DATABASE dst")
    load_with_client(server, "ref", sample_sql)
    cfg = _config(server, sample_sql, "dst", "error")
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["summary"] = run_import(cfg, task_id="restart")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    importer = threading.Thread(target=work)
    importer.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # restart once some rows are in, long before the end
        try:
            with server.connect() as conn:
                if sum(checkpoint_state(conn, "dst", "restart")["rows"].values()) >= 5000:
                    break
        except pymysql.err.MySQLError:
            pass
        time.sleep(0.02)
    assert importer.is_alive(), outcome  # the restart really happens mid-import
    restart(down_seconds=1.0)
    importer.join(120)
    assert not importer.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["summary"].total_rows == TOTAL_ROWS
    with server.connect() as conn:
        assert_exact(conn, "dst", "ref")

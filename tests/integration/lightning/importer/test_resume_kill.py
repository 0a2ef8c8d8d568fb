"""Crash the importing process at every awkward instant; the rerun must finish with each row exactly once.

The command line runs in a subprocess with ``TIDB_LIGHTNING_PY_KILL_AT=<point>:<n>``, which SIGKILLs
it (no ``finally`` runs, as when an Airflow worker's node is lost). Right after the crash the
target must hold exactly the rows the checkpoint counts (rows and position commit in one
transaction), and a rerun without the variable must write exactly the rest, for every
``on-duplicate`` mode. With ``on-duplicate = "error"`` a single row sent twice would fail the rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints.model import task_key
from airflow_provider_tidb_lightning.lightning.common import failpoint as faults
from airflow_provider_tidb_lightning.lightning.common.failpoint import InjectedFault
from airflow_provider_tidb_lightning.lightning.importer.plan import derive_task_id
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.db_checks import TPCH_COUNTS, table_checksum
from tests.support.engine_helpers import task_config
from tests.support.paths import REPO

TABLES = ("lineitem", "nation", "orders")
TOTAL_ROWS = sum(TPCH_COUNTS[t] for t in TABLES)  # 75,200
FAULT_ENV = ("TIDB_LIGHTNING_PY_KILL_AT", "TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES")

# (fail point, n): the instants a run is killed at. The subset has 1 database and 3 tables
# (schema-created 1..4), 5 chunks (lineitem has 3 files) and about 630 batches of 16 KiB.
KILL_POINTS = [
    "schema-created:1",  # database created, no table yet
    "schema-created:3",  # two tables created, the second one not yet in the checkpoint
    "batch-sent:1",  # first batch executed, not committed
    "batch-sent:7",
    "batch-committed:5",
    "batch-committed:40",
    "batch-committed:400",  # deep into lineitem, orders not finished
    "chunk-finished:1",
    "chunk-finished:2",
    "chunk-finished:4",
    "table-finished:1",
    "task-finished:1",  # everything written, checkpoint not yet removed
]




def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_task(path: Path, server, db: str, *, mode: str = "error", source: Path | str | None = None,
               tables: tuple[str, ...] = TABLES, **sections: dict[str, Any]) -> Path:
    """A task file importing ``tables`` of the sample (or ``source``) into ``db``, in small batches."""
    raw: dict[str, dict[str, Any]] = {
        "lightning": {"region-concurrency": 2, "task-info-schema-name": f"{db}_info", "level": "info"},
        "checkpoint": {"driver": "mysql", "schema": f"{db}_ckpt"},
        "tikv-importer": {"on-duplicate": mode, "logical-import-batch-size": "16KiB"},
        "mydumper": {"data-source-dir": str(source or (REPO.parent / "shared/samples/tpch-sf0.01/mydumper-sql")),
                     "filter": [f"tpch.{t}" for t in tables]},
        "tidb": {"host": server.host, "port": server.port, "user": server.user, "password": server.password},
    }
    for name, values in sections.items():
        raw.setdefault(name.replace("_", "-"), {}).update(values)
    lines = []
    for name, values in raw.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    lines += ["[[routes]]", 'schema-pattern = "tpch"', f"target-schema = {_toml_value(db)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(task: Path, *, task_id: str | None = None, kill_at: str | None = None,
            fail_after: int | None = None, host: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in FAULT_ENV}
    if kill_at:
        env["TIDB_LIGHTNING_PY_KILL_AT"] = kill_at
    if fail_after:
        env["TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES"] = str(fail_after)
    cmd = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli", "--config", str(task)]
    if task_id:
        cmd += ["--task-id", task_id]
    if host:
        cmd += ["--tidb-host", host]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def checkpoint_state(conn, db: str, task_id: str) -> dict[str, Any]:
    """What the mysql checkpoint of ``task_id`` says: rows per table, finished chunks, table statuses."""
    key = task_key(task_id)
    with conn.cursor() as cur:
        cur.execute(f"SELECT `table_name`, SUM(`rows_written`), SUM(`finished`), COUNT(*) FROM `{db}_ckpt`.`chunk_v1`"
                    " WHERE `task_key` = %s GROUP BY `table_name`", (key,))
        chunks = {name.split("`.`")[1].rstrip("`"): (int(rows), int(done), int(n)) for name, rows, done, n in cur}
        cur.execute(f"SELECT `table_name`, `status` FROM `{db}_ckpt`.`table_v1` WHERE `task_key` = %s", (key,))
        statuses = {name.split("`.`")[1].rstrip("`"): status for name, status in cur}
        cur.execute(f"SELECT COUNT(*) FROM `{db}_ckpt`.`task_v1` WHERE `task_key` = %s", (key,))
        exists = cur.fetchone()[0] == 1
    return {
        "exists": exists,
        "rows": {t: c[0] for t, c in chunks.items()},
        "finished_chunks": sum(c[1] for c in chunks.values()),
        "chunks": sum(c[2] for c in chunks.values()),
        "statuses": statuses,
    }


def target_counts(conn, db: str) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA=%s AND TABLE_TYPE='BASE TABLE'", (db,))
        names = sorted(r[0] for r in cur.fetchall())
        counts = {}
        for name in names:
            cur.execute(f"SELECT COUNT(*) FROM `{db}`.`{name}`")
            counts[name] = int(cur.fetchone()[0])
    return counts


def wait_for_disconnect(conn, timeout: float = 10.0) -> None:
    """Wait until the server has finished with the dead process's sessions.

    A COMMIT the process sent just before it died still lands after its death; reading before it
    does would count the batch as lost although the rerun will (correctly) not send it again.
    """
    deadline = time.monotonic() + timeout
    with conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()"
                        " AND USER = SUBSTRING_INDEX(USER(), '@', 1)")
            if cur.fetchone()[0] == 0:
                return
            time.sleep(0.05)


def assert_consistent_after_crash(conn, db: str, task_id: str) -> dict[str, Any]:
    """After a crash the target holds exactly the rows the checkpoint counts, table by table.

    Both are read in one snapshot: the invariant holds at every instant, not only once the dust settles.
    """
    wait_for_disconnect(conn)
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    try:
        state = checkpoint_state(conn, db, task_id)
        counts = target_counts(conn, db)
    finally:
        conn.rollback()
    for table, count in counts.items():
        assert count == state["rows"].get(table, 0), (table, count, state)
    return state | {"counts": counts}


def assert_exact(conn, db: str, reference_db: str, tables: tuple[str, ...] = TABLES) -> None:
    """The target holds ``tables`` and nothing else, each equal to the reference (count and checksums)."""
    assert sorted(target_counts(conn, db)) == sorted(tables)
    for table in tables:
        ours = table_checksum(conn, db, table)
        assert ours["rows"] == TPCH_COUNTS[table], table
        assert ours == table_checksum(conn, reference_db, table), table


def _expect_at_crash(point: str, state: dict[str, Any]) -> None:
    """The crash happened where it was asked to (so the matrix really covers these instants)."""
    name, _, n = point.partition(":")
    n_tables = len(state["counts"])
    rows = sum(state["rows"].values())
    if name == "schema-created":
        assert n_tables == int(n) - 1 and rows == 0, state  # the 1st is the database
    elif name == "batch-sent":
        assert 0 <= rows < TOTAL_ROWS and state["finished_chunks"] == 0, state
    elif name == "batch-committed":
        assert 0 < rows < TOTAL_ROWS, state
    elif name == "chunk-finished":
        assert state["finished_chunks"] >= int(n) and rows < TOTAL_ROWS, state
    elif name == "table-finished":
        assert list(state["statuses"].values()).count("done") >= int(n) and rows < TOTAL_ROWS, state
    elif name == "task-finished":
        assert set(state["statuses"].values()) == {"done"} and rows == TOTAL_ROWS, state
        assert state["finished_chunks"] == state["chunks"] == 5, state


@pytest.mark.parametrize("mode", ["error", "replace", "ignore"])
@pytest.mark.parametrize("point", KILL_POINTS)
def test_killed_run_resumes_exactly_once(db_server, target, reference_db, tmp_path, mode, point):
    task = write_task(tmp_path / "task.toml", db_server, target, mode=mode)
    task_id = f"kill-{point}-{mode}"

    killed = run_cli(task, task_id=task_id, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, f"exit {killed.returncode}\n{killed.stderr[-3000:]}"
    with db_server.connect() as conn:
        state = assert_consistent_after_crash(conn, target, task_id)
    _expect_at_crash(point, state)
    committed = sum(state["rows"].values())

    summary = summary_of(run_cli(task, task_id=task_id))
    assert summary["task_id"] == task_id and summary["resumed"] is True
    # Exactly once, counted: the rerun wrote precisely the rows the crashed run had not committed.
    assert summary["total_rows"] == TOTAL_ROWS - committed
    assert all(t["skipped_rows"] == 0 and t["conflicts"] == 0 for t in summary["tables"])
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
        assert checkpoint_state(conn, target, task_id)["exists"] is False  # keep-after-success = "remove"


def test_repeated_crashes_each_resume_from_the_last(db_server, target, reference_db, tmp_path):
    """Crash, crash again while resuming, again, then finish; the task id is derived, not given."""
    task = write_task(tmp_path / "task.toml", db_server, target, mode="error")
    from airflow_provider_tidb_lightning.lightning.config import load_task_config

    task_id = derive_task_id(load_task_config(str(task)))
    progress = []
    for point in ("batch-committed:30", "batch-committed:30", "chunk-finished:1", "batch-sent:3",
                  "table-finished:1"):
        result = run_cli(task, kill_at=point)
        assert result.returncode == -signal.SIGKILL, f"{point}: exit {result.returncode}\n{result.stderr[-3000:]}"
        with db_server.connect() as conn:
            state = assert_consistent_after_crash(conn, target, task_id)
        progress.append(sum(state["rows"].values()))
    assert progress == sorted(progress) and progress[1] > progress[0] > 0, progress
    summary = summary_of(run_cli(task))
    assert summary["task_id"] == task_id and summary["total_rows"] == TOTAL_ROWS - progress[-1]
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)


def test_injected_failure_then_retry_in_a_subprocess(db_server, target, reference_db, tmp_path):
    """``TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES``: an ordinary failure (exit 1), as Airflow would retry."""
    task = write_task(tmp_path / "task.toml", db_server, target, mode="error")
    failed = run_cli(task, task_id="inject", fail_after=25)
    assert failed.returncode == 1, failed.stderr[-3000:]
    assert "injected failure after 25 committed batches" in failed.stderr
    with db_server.connect() as conn:
        state = assert_consistent_after_crash(conn, target, "inject")
    committed = sum(state["rows"].values())
    assert 0 < committed < TOTAL_ROWS
    summary = summary_of(run_cli(task, task_id="inject"))
    assert summary["total_rows"] == TOTAL_ROWS - committed
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)


@pytest.mark.parametrize("mode", ["error", "replace"])
def test_injected_failure_in_process_then_retry(db_server, target, reference_db, sample_dir, monkeypatch, mode):
    """The same through ``run_import`` (the operator's path); the fail point reads the environment at each call."""
    cfg = task_config(db_server, sample_dir / "mydumper-sql", target,
                      mydumper={"filter": [f"tpch.{t}" for t in TABLES]},
                      lightning={"region-concurrency": 2},
                      tikv_importer={"on-duplicate": mode, "logical-import-batch-size": "16KiB"})
    monkeypatch.setattr(faults, "_counts", {})  # counts are per process; start this test's from zero
    monkeypatch.setenv("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES", "60")
    with pytest.raises(InjectedFault, match="after 60 committed batches"):
        run_import(cfg, task_id="inproc")
    with db_server.connect() as conn:
        state = assert_consistent_after_crash(conn, target, "inproc")
    committed = sum(state["rows"].values())
    assert 0 < committed < TOTAL_ROWS

    monkeypatch.delenv("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES")
    summary = run_import(cfg, task_id="inproc")
    assert summary.resumed and summary.total_rows == TOTAL_ROWS - committed
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)

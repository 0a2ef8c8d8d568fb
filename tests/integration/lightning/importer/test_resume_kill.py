"""Crash the importing process at every awkward instant; the rerun must finish with each row exactly once.

The command line runs in a subprocess with ``TIDB_LIGHTNING_PY_KILL_AT=<point>:<n>``, which SIGKILLs
it (no ``finally`` runs, as when an Airflow worker's node is lost). Right after the crash the
target must hold exactly the rows the checkpoint counts (rows and position commit in one
transaction), and a rerun without the variable must write exactly the rest, for every
``on-duplicate`` mode. With ``on-duplicate = "error"`` a single row sent twice would fail the rerun.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from airflow_provider_tidb_lightning.lightning.common import failpoint as faults
from airflow_provider_tidb_lightning.lightning.common.failpoint import InjectedFault
from airflow_provider_tidb_lightning.lightning.importer.plan import derive_task_id
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import TOTAL_ROWS, assert_consistent_after_crash, assert_exact, checkpoint_state
from tests.support.cli_task import TABLES, run_cli, summary_of, write_task
from tests.support.engine_helpers import task_config

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
def test_killed_run_resumes_exactly_once(db_server, target, reference_db, sample_sql, tmp_path, mode, point):
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode=mode)
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


def test_repeated_crashes_each_resume_from_the_last(db_server, target, reference_db, sample_sql, tmp_path):
    """Crash, crash again while resuming, again, then finish; the task id is derived, not given."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error")
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


def test_injected_failure_then_retry_in_a_subprocess(db_server, target, reference_db, sample_sql, tmp_path):
    """``TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES``: an ordinary failure (exit 1), as Airflow would retry."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error")
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

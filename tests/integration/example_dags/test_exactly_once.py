"""Exactly once across the task boundary: a retry after a finished import returns its summary and writes nothing.

The worker may die after the import finished (its checkpoint cleaned up) and before Airflow
recorded the success. ``TIDB_LIGHTNING_PY_FAIL_AT=import-returned:1`` makes the first try fail at
exactly that instant, inside a real ``dag.test()`` run with one retry. With
``on_duplicate="error"`` a retry that imported again would fail on the rows the first try wrote.
The command line keeps tidb-lightning's behaviour: no record, a rerun imports again.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints.model import task_key
from airflow_provider_tidb_lightning.lightning.common import failpoint as faults
from tests.support.airflow_compat import run_dag_test, xcom_return_value
from tests.support.checkpoint_checks import assert_exact, target_counts
from tests.support.cli_task import run_cli, summary_of, write_task
from tests.support.db_checks import TPCH_COUNTS
from tests.support.paths import REPO

ALL_TABLES = tuple(TPCH_COUNTS)


@pytest.fixture(scope="module")
def dag_env(tidb_conn_id: str) -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIDB_LIGHTNING_DEMO_CONN_ID", tidb_conn_id)
        yield patch


def _daily_refresh() -> Any:
    from tests.support.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(REPO / "example_dags"))
    assert bag.import_errors == {}
    return bag.get_dag("tidb_lightning_daily_refresh")


def _import_try(dag_run: Any) -> Any:
    from airflow.utils.session import create_session

    with create_session() as session:
        return next(ti for ti in dag_run.get_task_instances(session=session) if ti.task_id == "import_dump")


def _finished_record(conn, task_id: str) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM `tidb_lightning_checkpoint`.`finished_v1` WHERE `task_key` = %s",
                    (task_key(task_id),))
        return int(cur.fetchone()[0])


def test_retry_after_a_finished_import_returns_the_summary_and_writes_nothing(
        airflow_db, dag_env, db_server, target, reference_db, sample_sql, monkeypatch, tmp_path):
    dag = _daily_refresh()
    task = dag.get_task("import_dump")
    task.retries, task.retry_delay, task.on_duplicate = 1, timedelta(0), "error"
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv("TIDB_LIGHTNING_PY_FAIL_AT", "import-returned:1")
    try:
        dag_run = run_dag_test(dag, datetime(2025, 4, 11, tzinfo=UTC),
                               run_conf={"dump_dir": str(sample_sql),
                                         "routes": [{"schema-pattern": "tpch", "target-schema": target}]})
    finally:
        monkeypatch.delenv("TIDB_LIGHTNING_PY_FAIL_AT")
    import_ti = _import_try(dag_run)
    assert import_ti.try_number == 2, "the first try should have failed after the import returned"
    assert import_ti.state == "success" and dag_run.state == "success"
    summary = xcom_return_value(dag_run, "import_dump")
    task_id = f"tidb_lightning_daily_refresh.import_dump.{dag_run.run_id}.-1"
    # The first try's summary, as it recorded it: every row, written by that try, not resumed.
    assert summary["task_id"] == task_id and summary["resumed"] is False
    assert summary["total_rows"] == sum(TPCH_COUNTS.values())
    assert {t["status"] for t in summary["tables"]} == {"done"}
    assert xcom_return_value(dag_run, "report") == sum(TPCH_COUNTS.values())
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, ALL_TABLES)
        assert _finished_record(conn, task_id) == 1
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM `tidb_lightning_checkpoint`.`task_v1` WHERE `task_key` = %s",
                        (task_key(task_id),))
            assert cur.fetchone()[0] == 0, "the checkpoint itself was cleaned up (keep-after-success = remove)"

    # To import this run again on purpose, the record goes with the checkpoint: --checkpoint-remove=all.
    ctl_task = tmp_path / "ctl.toml"
    ctl_task.write_text(f'[tidb]\nhost = "{db_server.host}"\nport = {db_server.port}\nuser = "{db_server.user}"\n'
                        f'password = "{db_server.password}"\n[checkpoint]\ndriver = "mysql"\n')
    removed = subprocess.run([sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.ctl", "--config",
                              str(ctl_task), "--task-id", task_id, "--checkpoint-remove=all"],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert removed.returncode == 0 and removed.stdout.splitlines() == [f"{task_id}: finished record"], removed.stderr
    with db_server.connect() as conn:
        assert _finished_record(conn, task_id) == 0


def test_the_command_line_keeps_no_record_and_a_rerun_imports_again(db_server, target, sample_sql, tmp_path):
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error", tables=("nation",))
    first = summary_of(run_cli(task, task_id="cli-once"))
    assert first["total_rows"] == TPCH_COUNTS["nation"]
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = "
                    "'finished_v1'", (f"{target}_ckpt",))
        assert cur.fetchone()[0] == 0
    again = run_cli(task, task_id="cli-once")  # tidb-lightning's behaviour: the checkpoint is gone, start over
    assert again.returncode == 1 and "duplicate key" in again.stderr, again.stderr[-2000:]
    with db_server.connect() as conn:
        assert target_counts(conn, target) == {"nation": TPCH_COUNTS["nation"]}

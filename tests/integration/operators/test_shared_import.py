"""``share_import=True`` and the finish operator: one checkpoint per DAG run, whole-import summaries.

``execute`` is called directly with a context holding the task instance's identity, against the
real test server (the example DAG runs the same through ``dag.test()``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.operators.shared_import import LightningSharedImportFinishOperator
from tests.support.hold import execute_killed_mid_import

LINEITEM = 60175


def _context(run_id: str, map_index: int) -> dict[str, Any]:
    return {"ti": SimpleNamespace(dag_id="shared_tests", task_id="import", run_id=run_id, map_index=map_index)}


def _count(db_server, database: str) -> int:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_NAME = 'lineitem'", (database,))
        if cur.fetchone()[0] == 0:
            return 0
        cur.execute(f"SELECT COUNT(*) FROM `{database}`.`lineitem`")
        return int(cur.fetchone()[0])


def _worker(tidb_conn_id: str, sample_dir: Path, database: str, worker: int) -> LightningImportOperator:
    return LightningImportOperator(
        task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=str(sample_dir / "mydumper-sql"),
        filters=["tpch.lineitem"], routes=[{"schema-pattern": "tpch", "target-schema": database}],
        on_duplicate="error", share_import=True, worker=worker,
        config_overrides={"tikv-importer.logical-import-batch-rows": 200, "lightning.region-concurrency": 1,
                          "checkpoint.lease-seconds": 2},
    )


def test_mapped_workers_share_one_checkpoint_per_run_and_report_the_whole_import(
    db_server, tidb_conn_id: str, fresh_db: str, sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker 0 is stopped mid-way; worker 1 (another map index) carries on from its saved position, with
    on-duplicate = error; the finish task reports every row, the stopped try's included, and removes the
    checkpoint."""
    from tests.support.airflow_compat import AirflowException

    run_id = f"manual__{uuid.uuid4().hex}"
    first = _worker(tidb_conn_id, sample_dir, fresh_db, 0)

    def execute() -> None:
        with pytest.raises(AirflowException):
            first.execute(_context(run_id, 0))

    # The writer waits after its fifth batch until on_kill() was called: mid-import on any machine.
    assert execute_killed_mid_import(monkeypatch, tmp_path / "hold", execute, first.on_kill) is not None
    written_first = _count(db_server, fresh_db)
    assert 0 < written_first < LINEITEM

    summary = _worker(tidb_conn_id, sample_dir, fresh_db, 1).execute(_context(run_id, 1))
    assert summary["task_id"] == f"shared_tests.import.{run_id}"  # no map index: one import per DAG run
    assert summary["total_rows"] == LINEITEM - written_first
    assert summary["import_total_rows"] == LINEITEM
    assert summary["worker"]["finished_import"] is True

    late = _worker(tidb_conn_id, sample_dir, fresh_db, 0).execute(_context(run_id, 0))  # the retry, after all
    assert (late["total_rows"], late["import_total_rows"]) == (0, LINEITEM)
    assert _count(db_server, fresh_db) == LINEITEM

    finish = LightningSharedImportFinishOperator(task_id="finish", import_task_id="import",
                                                 tidb_conn_id=tidb_conn_id)
    result = finish.execute(_context(run_id, -1))
    assert result["import_total_rows"] == LINEITEM
    assert result["tables"] == {f"`{fresh_db}`.`lineitem`": LINEITEM}
    with pytest.raises(AirflowException, match="no checkpoint"):  # removed by the finish
        finish.execute(_context(run_id, -1))


def test_finish_refuses_an_import_with_chunks_left(db_server, tidb_conn_id: str, fresh_db: str,
                                                   sample_dir: Path) -> None:
    from airflow_provider_tidb_lightning.lightning.checkpoints import MySQLStore
    from airflow_provider_tidb_lightning.lightning.checkpoints.model import (
        ChunkCheckpoint,
        ChunkProgress,
        TableCheckpoint,
        TaskCheckpoint,
    )
    from airflow_provider_tidb_lightning.lightning.common.connection import connect
    from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition
    from tests.support.airflow_compat import AirflowException
    from tests.support.engine_helpers import task_config

    run_id = f"manual__{uuid.uuid4().hex}"
    config = task_config(db_server, sample_dir, fresh_db)
    store = MySQLStore(lambda: connect(config.tidb), "tidb_lightning_checkpoint")
    key = f"shared_tests.import.{run_id}"
    task = TaskCheckpoint(key, "fp", {"`d`.`t`": TableCheckpoint("`d`.`t`")},
                          {"t.sql:0": ChunkCheckpoint("t.sql:0", "`d`.`t`", "t.sql", 10, 0, None,
                                                      ChunkProgress(ReadPosition(0)))})
    store.create(task)
    try:
        finish = LightningSharedImportFinishOperator(task_id="finish", import_task_id="import",
                                                     tidb_conn_id=tidb_conn_id)
        with pytest.raises(AirflowException, match="1 chunk"):
            finish.execute(_context(run_id, -1))
        assert store.load(key) is not None  # left for the workers' retries
    finally:
        store.remove(key)
        store.close()

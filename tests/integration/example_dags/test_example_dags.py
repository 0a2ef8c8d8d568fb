"""The example DAGs, parsed by a real DagBag and run end to end with ``dag.test()`` against the test server.

Imported data is compared with an independent reference: the sample's ``tbl/`` files loaded by the
server itself (``LOAD DATA``) into tables created from the dump's own DDL, then ``CHECKSUM TABLE``.
Every run routes the dump's ``tpch`` schema into a fresh database, so tests do not see each other.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pymysql
import pytest

from airflow_provider_tidb_lightning import get_provider_info
from airflow_provider_tidb_lightning.lightning.common import failpoint as faults
from tests.support.airflow_compat import run_dag_test
from tests.support.db_checks import TPCH_COUNTS
from tests.support.paths import REPO

EXAMPLE_DAGS = REPO / "example_dags"
EXAMPLE_DAG_IDS = {"tidb_lightning_daily_refresh", "tidb_lightning_backfill", "tidb_lightning_mapped_tables",
                   "tidb_lightning_from_s3"}
SAMPLE_ROWS = TPCH_COUNTS


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dag_env(tidb_conn_id: str) -> Iterator[pytest.MonkeyPatch]:
    """Parse-time settings of the example DAGs: the test connection instead of ``tidb_default``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIDB_LIGHTNING_DEMO_CONN_ID", tidb_conn_id)
        yield patch


def _load_dag(dag_id: str) -> Any:
    """A freshly parsed DAG, so a test may adjust its tasks without affecting other tests."""
    from tests.support.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    return bag.get_dag(dag_id)


@pytest.fixture(scope="module")
def reference(db_server, airflow_db, sample_dir: Path) -> Iterator[str]:
    """A database holding the sample's rows as the server itself loads them from ``tbl/`` files."""
    sample = sample_dir
    name = f"ref_{uuid.uuid4().hex[:10]}"
    with db_server.connect(local_infile=True, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS) as conn:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"USE `{name}`")
            for table in SAMPLE_ROWS:
                cur.execute((sample / "mydumper-sql" / f"tpch.{table}-schema.sql").read_text())
                while cur.nextset():
                    pass
                cur.execute("SET NAMES utf8mb4")  # the schema file switched the session to binary
                cur.execute(
                    "SELECT COLUMN_NAME FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
                    (name, table),
                )
                columns = ", ".join(f"`{column}`" for (column,) in cur.fetchall())
                # Every tbl line ends with '|': the last, empty field goes to a throw-away variable.
                cur.execute(
                    f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4"
                    f" FIELDS TERMINATED BY '|' LINES TERMINATED BY '\\n' ({columns}, @trailing)",
                    (str(sample / "tbl" / f"{table}.tbl"),),
                )
    yield name
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def assert_matches_sample(db_server, reference: str, database: str) -> None:
    """Row counts equal the sample's, and every table's CHECKSUM TABLE equals the reference's."""
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        assert {table for (table,) in cur.fetchall()} == set(SAMPLE_ROWS)
        for table, rows in SAMPLE_ROWS.items():
            cur.execute(f"SELECT COUNT(*) FROM `{database}`.`{table}`")
            assert cur.fetchone()[0] == rows, table
            cur.execute(f"CHECKSUM TABLE `{reference}`.`{table}`, `{database}`.`{table}`")
            (_, expected), (_, actual) = cur.fetchall()
            assert actual == expected, f"{database}.{table} differs from the sample"


def _xcom(dag_run: Any, task_id: str, map_index: int = -1) -> Any:
    from tests.support.airflow_compat import xcom_return_value

    return xcom_return_value(dag_run, task_id, map_index)


def _task_instances(dag_run: Any) -> dict[tuple[str, int], Any]:
    from airflow.utils.session import create_session

    with create_session() as session:
        return {(ti.task_id, ti.map_index): ti for ti in dag_run.get_task_instances(session=session)}


def _route_to(database: str) -> list[dict[str, str]]:
    return [{"schema-pattern": "tpch", "target-schema": database}]


# --- parsing -----------------------------------------------------------------------------------------


def test_dagbag_loads_every_example_without_import_errors(airflow_db, dag_env) -> None:
    from tests.support.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(EXAMPLE_DAGS))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXAMPLE_DAG_IDS
    backfill = bag.get_dag("tidb_lightning_backfill")
    assert backfill.catchup is True
    assert backfill.get_task("import_day").data_source_dir.endswith("/{{ ds }}")


def test_provider_info_lists_the_airflow_modules() -> None:
    info = get_provider_info()
    modules = {
        module
        for kind in ("operators", "sensors", "triggers")
        for entry in info[kind]
        for module in entry["python-modules"]
    }
    assert modules == {
        "airflow_provider_tidb_lightning.operators.lightning",
        "airflow_provider_tidb_lightning.sensors.target",
        "airflow_provider_tidb_lightning.sensors.dump",
        "airflow_provider_tidb_lightning.triggers.target",
    }
    for module in modules:
        importlib.import_module(module)


# --- end-to-end runs ---------------------------------------------------------------------------------


def test_daily_refresh_imports_the_dump(airflow_db, dag_env, db_server, make_database, sample_dir, reference):
    target = make_database("daily")
    dag = _load_dag("tidb_lightning_daily_refresh")
    dag_run = run_dag_test(
        dag, datetime(2025, 3, 1, tzinfo=UTC),
        run_conf={"dump_dir": str(sample_dir / "mydumper-sql"), "routes": _route_to(target)},
    )
    states = {key: ti.state for key, ti in _task_instances(dag_run).items()}
    assert set(states.values()) == {"success"}, states
    assert dag_run.state == "success"
    assert_matches_sample(db_server, reference, target)
    summary = _xcom(dag_run, "import_dump")
    assert summary["total_rows"] == sum(SAMPLE_ROWS.values())
    assert summary["resumed"] is False
    assert summary["task_id"] == f"tidb_lightning_daily_refresh.import_dump.{dag_run.run_id}.-1"
    assert _xcom(dag_run, "report") == sum(SAMPLE_ROWS.values())


def test_failed_try_resumes_from_the_checkpoint(
    airflow_db, dag_env, db_server, make_database, sample_dir, reference, monkeypatch: pytest.MonkeyPatch
):
    """The first try dies after a few committed batches; the retry resumes and the data equals the source.

    With ``on_duplicate="error"`` a retry that started over would fail on the rows the first try
    committed, so a successful retry shows the checkpoint was picked up.
    """
    target = make_database("retry")
    dag = _load_dag("tidb_lightning_daily_refresh")
    task = dag.get_task("import_dump")
    task.retries, task.retry_delay, task.on_duplicate = 1, timedelta(0), "error"
    # The fail point reads the environment at each call; its batch count is per process, so start
    # from zero. (No module reload: that would replace InjectedFault for tests that imported it.)
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES", "3")
    try:
        dag_run = run_dag_test(
            dag, datetime(2025, 3, 2, tzinfo=UTC),
            run_conf={"dump_dir": str(sample_dir / "mydumper-sql"), "routes": _route_to(target)},
        )
    finally:
        monkeypatch.delenv("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES")
    import_ti = _task_instances(dag_run)[("import_dump", -1)]
    assert import_ti.state == "success"
    assert import_ti.try_number == 2, "the first try should have failed on the injected fault"
    assert _xcom(dag_run, "import_dump")["resumed"] is True
    assert dag_run.state == "success"
    assert_matches_sample(db_server, reference, target)


def test_mapped_tables_import_one_group_per_task(
    airflow_db, dag_env, db_server, make_database, sample_dir, reference
):
    target = make_database("mapped")
    dag = _load_dag("tidb_lightning_mapped_tables")
    dag_run = run_dag_test(
        dag, datetime(2025, 3, 3, tzinfo=UTC),
        run_conf={"dump_dir": str(sample_dir / "mydumper-sql"), "routes": _route_to(target)},
    )
    tis = _task_instances(dag_run)
    mapped = {index: ti for (task_id, index), ti in tis.items() if task_id == "import_table_group"}
    assert sorted(mapped) == [0, 1, 2]
    assert {ti.state for ti in tis.values()} == {"success"}
    assert_matches_sample(db_server, reference, target)
    assert _xcom(dag_run, "import_table_group", 0)["total_rows"] == SAMPLE_ROWS["lineitem"]
    orders_and_customers = SAMPLE_ROWS["orders"] + SAMPLE_ROWS["customer"]
    assert _xcom(dag_run, "import_table_group", 1)["total_rows"] == orders_and_customers
    assert _xcom(dag_run, "total_rows") == sum(SAMPLE_ROWS.values())


def test_backfill_reads_the_dump_of_the_logical_date(
    airflow_db, dag_env, db_server, make_database, sample_dir, reference, tmp_path: Path
):
    target = make_database("backfill")
    (tmp_path / "2025-01-02").symlink_to(sample_dir / "mydumper-sql", target_is_directory=True)
    dag_env.setenv("TIDB_LIGHTNING_DUMP_ROOT", str(tmp_path))
    try:
        dag = _load_dag("tidb_lightning_backfill")
        dag_run = run_dag_test(dag, datetime(2025, 1, 2, tzinfo=UTC), run_conf={"routes": _route_to(target)})
    finally:
        dag_env.delenv("TIDB_LIGHTNING_DUMP_ROOT")
    tis = _task_instances(dag_run)
    assert {ti.state for ti in tis.values()} == {"success"}
    assert_matches_sample(db_server, reference, target)

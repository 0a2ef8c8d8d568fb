"""The daily refresh DAG, run on two days with ``dag.test()``: the second day's dump replaces the first's whole.

Day two deleted, changed and added rows at the source. With refresh mode "swap" the target ends
equal to day two: no stale row of day one survives, and no shadow or replaced table is left.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.airflow_compat import run_dag_test, xcom_return_value
from tests.support.paths import REPO
from tests.support.refresh_dumps import SCHEMA, TABLES, day_one, day_two, table_names, table_rows, write_dump


@pytest.fixture(scope="module")
def dag_env(tidb_conn_id: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIDB_LIGHTNING_DEMO_CONN_ID", tidb_conn_id)
        yield


def _daily_dag():
    from tests.support.airflow_compat import DagBag

    bag = DagBag(dag_folder=str(REPO / "example_dags"))
    assert bag.import_errors == {}
    return bag.get_dag("tidb_lightning_daily_refresh")


def test_second_day_replaces_the_first_without_stale_rows(airflow_db, dag_env, db_server, make_database, tmp_path):
    target = make_database("swap")
    routes = [{"schema-pattern": SCHEMA, "target-schema": target}]
    for day, rows in ((1, day_one()), (2, day_two())):
        dump = write_dump(tmp_path / f"day{day}", rows, metadata={t: len(r) for t, r in rows.items()})
        dag_run = run_dag_test(_daily_dag(), datetime(2025, 4, day, tzinfo=UTC),
                               run_conf={"dump_dir": str(dump), "routes": routes})
        assert dag_run.state == "success"
        assert xcom_return_value(dag_run, "report") == sum(len(r) for r in rows.values())
        with db_server.connect() as conn:
            assert {t: table_rows(conn, target, t) for t in TABLES} == rows
            assert table_names(conn, target) == sorted(TABLES)

"""Backfill: one import per logical date, each from that day's dump directory ``<root>/<ds>``.

``catchup=True`` makes the scheduler create a run for every day since ``start_date``; re-loading
a range later is ``airflow backfill create`` (Airflow 3) or ``airflow dags backfill`` (2.11), see
docs/backfill.md. Runs go one at a time (``max_active_runs=1``) because every day's dump loads
the same tables; ``on_duplicate="replace"`` makes a re-run of a day overwrite rather than fail.

* ``TIDB_LIGHTNING_DUMP_ROOT``: directory holding one dump per day (``/dumps``);
* ``TIDB_LIGHTNING_DEMO_CONN_ID``: the Airflow connection of the target (``tidb_default``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.sensors.dump import DumpCompleteSensor

DUMP_ROOT = os.environ.get("TIDB_LIGHTNING_DUMP_ROOT", "/dumps")
TIDB_CONN_ID = os.environ.get("TIDB_LIGHTNING_DEMO_CONN_ID", "tidb_default")
DAY_DIR = DUMP_ROOT.rstrip("/") + "/{{ ds }}"

with DAG(
    dag_id="tidb_lightning_backfill",
    description="Import each day's dump directory, catching up on missed days",
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    # Native rendering turns "{{ params.routes }}" into the list the operator expects.
    render_template_as_native_obj=True,
    params={"routes": Param([], type="array", description="tidb-lightning [[routes]] rules")},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["tidb-lightning", "example"],
) as dag:
    wait_for_dump = DumpCompleteSensor(
        task_id="wait_for_dump",
        path=DAY_DIR,
        mode="reschedule",
        poke_interval=300,
        timeout=12 * 3600,
    )
    import_day = LightningImportOperator(
        task_id="import_day",
        tidb_conn_id=TIDB_CONN_ID,
        data_source_dir=DAY_DIR,
        routes="{{ params.routes }}",
        on_duplicate="replace",
    )

    wait_for_dump >> import_day

"""Daily refresh: wait for last night's dump, wait for the target, import it, report what was loaded.

The import runs in refresh mode ``swap``: each table is loaded into a shadow table and all of them
replace the live tables in one atomic ``RENAME TABLE`` once every table is loaded and verified, so
rows deleted at the source disappear here too and readers never see a half-loaded day. A failed
try leaves yesterday's tables in place; its retry resumes into the same shadow tables. Whatever
runs after ``import_dump`` (the report, asset events) sees the new tables: the swap is part of it.

Point it at your environment with:

* ``TIDB_LIGHTNING_DEMO_DUMP_DIR``: the dump directory the nightly mydumper/Dumpling job writes
  (also the ``dump_dir`` param, so a manual run can pick another one);
* ``TIDB_LIGHTNING_DEMO_CONN_ID``: the Airflow connection of the target (``tidb_default``).

The ``routes`` param takes tidb-lightning ``[[routes]]`` rules, e.g.
``[{"schema-pattern": "app", "target-schema": "app_staging"}]`` to load into a staging database.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.sensors.dump import DumpCompleteSensor
from airflow_provider_tidb_lightning.sensors.target import TiDBTargetReadySensor

DUMP_DIR = os.environ.get("TIDB_LIGHTNING_DEMO_DUMP_DIR", "/data/dumps/latest")
TIDB_CONN_ID = os.environ.get("TIDB_LIGHTNING_DEMO_CONN_ID", "tidb_default")
log = logging.getLogger(__name__)

with DAG(
    dag_id="tidb_lightning_daily_refresh",
    description="Import the nightly dump into TiDB with TiDB Lightning's TiDB backend",
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    # Native rendering turns "{{ params.routes }}" into the list the operator expects.
    render_template_as_native_obj=True,
    params={
        "dump_dir": Param(DUMP_DIR, type="string", description="Dump directory to import"),
        "routes": Param([], type="array", description="tidb-lightning [[routes]] rules"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["tidb-lightning", "example"],
) as dag:
    wait_for_dump = DumpCompleteSensor(
        task_id="wait_for_dump",
        path="{{ params.dump_dir }}",
        mode="reschedule",
        poke_interval=300,
        timeout=6 * 3600,
    )
    wait_for_target = TiDBTargetReadySensor(
        task_id="wait_for_target",
        tidb_conn_id=TIDB_CONN_ID,
        deferrable=True,
        poke_interval=60,
        timeout=3600,
    )
    import_dump = LightningImportOperator(
        task_id="import_dump",
        tidb_conn_id=TIDB_CONN_ID,
        data_source_dir="{{ params.dump_dir }}",
        routes="{{ params.routes }}",
        on_duplicate="replace",
        refresh="swap",
    )

    @task
    def report(summary: dict[str, Any]) -> int:
        """Log what the import loaded; the row total is this task's XCom for downstream checks."""
        for table in summary["tables"]:
            log.info("Imported %s: %d rows (%s)", table["table"], table["rows"], table["status"])
        log.info("Total: %d rows in %.1f s%s", summary["total_rows"], summary["seconds"],
                 " (resumed from a checkpoint)" if summary["resumed"] else "")
        return summary["total_rows"]

    [wait_for_dump, wait_for_target] >> import_dump
    report(import_dump.output)

"""Dynamic task mapping: one import task per group of tables, run in parallel and retried apart.

Splitting a dump by table filter keeps a failure in one big table from holding back (or
re-running) the others: each mapped task has its own checkpoint (the map index is part of it).
The groups below fit the TPC-H demo dump; list your own schema's tables, big ones alone.

* ``TIDB_LIGHTNING_DEMO_DUMP_DIR``: the dump directory (also the ``dump_dir`` param);
* ``TIDB_LIGHTNING_DEMO_CONN_ID``: the Airflow connection of the target (``tidb_default``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.sensors.dump import DumpCompleteSensor

DUMP_DIR = os.environ.get("TIDB_LIGHTNING_DEMO_DUMP_DIR", "/data/dumps/latest")
TIDB_CONN_ID = os.environ.get("TIDB_LIGHTNING_DEMO_CONN_ID", "tidb_default")
# tidb-lightning table filters, one list per mapped task.
TABLE_GROUPS = [
    ["tpch.lineitem"],
    ["tpch.orders", "tpch.customer"],
    ["tpch.part", "tpch.partsupp", "tpch.supplier", "tpch.nation", "tpch.region"],
]
log = logging.getLogger(__name__)

with DAG(
    dag_id="tidb_lightning_mapped_tables",
    description="Import a dump with one mapped task per table group",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "dump_dir": Param(DUMP_DIR, type="string", description="Dump directory to import"),
        "routes": Param([], type="array", description="tidb-lightning [[routes]] rules"),
    },
    tags=["tidb-lightning", "example"],
) as dag:
    wait_for_dump = DumpCompleteSensor(task_id="wait_for_dump", path="{{ params.dump_dir }}", timeout=3600)
    import_groups = LightningImportOperator.partial(
        task_id="import_table_group",
        tidb_conn_id=TIDB_CONN_ID,
        data_source_dir="{{ params.dump_dir }}",
        routes="{{ params.routes }}",
        on_duplicate="replace",
    ).expand(filters=TABLE_GROUPS)

    @task
    def total_rows(summaries: Iterable[dict[str, Any]]) -> int:
        """Add up the mapped imports' summaries (Airflow hands them over in map-index order)."""
        totals = [summary["total_rows"] for summary in summaries]
        log.info("Rows per table group: %s", totals)
        return sum(totals)

    wait_for_dump >> import_groups
    total_rows(import_groups.output)

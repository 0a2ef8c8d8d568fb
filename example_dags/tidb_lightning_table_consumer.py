"""Consumer: run whenever an import refreshed one table, scheduled on that table's asset.

``LightningImportOperator`` emits one asset event per imported table, named as
apache-airflow-providers-mysql names tables (``mysql://host:port/database/table``), with the rows
and bytes of the import in the event's extra. This DAG runs after every import that refreshed
``orders``; the events that triggered it say how many rows arrived.

Point it at your target with ``TIDB_LIGHTNING_DEMO_HOST``, ``TIDB_LIGHTNING_DEMO_PORT`` and
``TIDB_LIGHTNING_DEMO_DATABASE`` (the host and port as written in the Airflow connection the
import uses). Works on Airflow 3 (assets) and 2.11 (datasets).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime

from airflow.providers.common.compat.sdk import DAG, get_current_context, task
from airflow.providers.mysql.assets.mysql import create_asset

log = logging.getLogger(__name__)

ORDERS = create_asset(
    host=os.environ.get("TIDB_LIGHTNING_DEMO_HOST", "127.0.0.1"),
    port=int(os.environ.get("TIDB_LIGHTNING_DEMO_PORT", "4000")),
    database=os.environ.get("TIDB_LIGHTNING_DEMO_DATABASE", "tpch"),
    table="orders",
)

with DAG(
    dag_id="tidb_lightning_table_consumer",
    description="Runs after each import that refreshed the orders table",
    schedule=[ORDERS],
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    tags=["tidb-lightning", "example"],
) as dag:

    @task
    def rows_arrived() -> int:
        """Sum the rows of the import events that triggered this run (Airflow 2.11 calls them dataset events)."""
        context = get_current_context()
        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        rows = sum(int(event.extra.get("rows", 0)) for batch in events.values() for event in batch)
        log.info("orders refreshed: %d new rows", rows)
        return rows

    rows_arrived()

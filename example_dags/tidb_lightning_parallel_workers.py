"""One import shared by N mapped workers: every worker claims chunks of the same dump until none is left.

Unlike ``tidb_lightning_mapped_tables`` (one import per table group, split by hand), the workers
here share one import of the whole dump: a huge table is spread over all of them, chunk by chunk.
Each worker is one ``tidb-lightning`` process on whichever Airflow worker runs it (Celery,
Kubernetes: the dump must be on storage every worker can read). Their checkpoint is one per DAG
run, kept on the target; a worker that dies leaves its chunk to the others once its lease expires,
and a retried worker joins whatever is left. ``finish`` reports the whole import's rows (every
worker, every try) and removes the checkpoint. See docs/scale-out.md.

* ``TIDB_LIGHTNING_DEMO_DUMP_DIR``: the dump directory (also the ``dump_dir`` param);
* ``TIDB_LIGHTNING_DEMO_CONN_ID``: the Airflow connection of the target (``tidb_default``);
* ``TIDB_LIGHTNING_DEMO_WORKERS``: how many workers (3).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.operators.shared_import import LightningSharedImportFinishOperator

DUMP_DIR = os.environ.get("TIDB_LIGHTNING_DEMO_DUMP_DIR", "/data/dumps/latest")
TIDB_CONN_ID = os.environ.get("TIDB_LIGHTNING_DEMO_CONN_ID", "tidb_default")
WORKERS = int(os.environ.get("TIDB_LIGHTNING_DEMO_WORKERS", "3"))
log = logging.getLogger(__name__)

with DAG(
    dag_id="tidb_lightning_parallel_workers",
    description="Import one dump with N mapped workers sharing the import",
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
    workers = LightningImportOperator.partial(
        task_id="import_worker",
        tidb_conn_id=TIDB_CONN_ID,
        data_source_dir="{{ params.dump_dir }}",
        routes="{{ params.routes }}",
        on_duplicate="error",  # nothing is written twice, so the strictest mode is safe
        share_import=True,
        config_overrides={"lightning.region-concurrency": 2, "checkpoint.lease-seconds": 30},
        retries=2,
        retry_delay=timedelta(seconds=10),
    ).expand(worker=list(range(WORKERS)))

    finish = LightningSharedImportFinishOperator(
        task_id="finish", import_task_id="import_worker", tidb_conn_id=TIDB_CONN_ID)

    @task
    def report(summary: dict[str, Any], worker_summaries: list[dict[str, Any]]) -> int:
        """The whole import's rows, and what each worker wrote of them."""
        log.info("Rows per worker: %s", [s["total_rows"] for s in worker_summaries])
        log.info("Rows per table: %s", summary["tables"])
        return int(summary["import_total_rows"])

    workers >> finish
    report(finish.output, workers.output)

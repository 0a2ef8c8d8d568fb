"""Import a dump from S3: wait for Dumpling's (or mydumper's) ``metadata`` object, then import the prefix.

Dumpling writes straight to a bucket (``dumpling -o s3://bucket/prefix``); this DAG imports such a
dump without copying it to the worker: files are listed by prefix and read with ranged GETs, and
a retry resumes from the checkpoint on the target. Credentials come from an Airflow AWS
connection (``source_conn_id``), so the URL holds none. For MinIO or another S3-compatible store,
put ``{"endpoint_url": "http://minio:9000"}`` in the connection's extra.

Point it at your environment with:

* ``TIDB_LIGHTNING_DEMO_S3_URL``: the dump's URL, e.g. ``s3://dumps/app/{{ ds_nodash }}``
  (also the ``dump_url`` param, so a manual run can pick another one);
* ``TIDB_LIGHTNING_DEMO_AWS_CONN_ID``: the AWS connection (``aws_default``);
* ``TIDB_LIGHTNING_DEMO_CONN_ID``: the Airflow connection of the target (``tidb_default``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.sensors.dump import DumpCompleteSensor

DUMP_URL = os.environ.get("TIDB_LIGHTNING_DEMO_S3_URL", "s3://dumps/app/{{ ds_nodash }}")
AWS_CONN_ID = os.environ.get("TIDB_LIGHTNING_DEMO_AWS_CONN_ID", "aws_default")
TIDB_CONN_ID = os.environ.get("TIDB_LIGHTNING_DEMO_CONN_ID", "tidb_default")

with DAG(
    dag_id="tidb_lightning_from_s3",
    description="Import a Dumpling dump from S3 into TiDB with TiDB Lightning's TiDB backend",
    schedule="@daily",
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    params={
        "dump_url": Param(DUMP_URL, type="string", description="s3://bucket/prefix of the dump"),
        "routes": Param([], type="array", description="tidb-lightning [[routes]] rules"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["tidb-lightning", "example", "s3"],
) as dag:
    wait_for_dump = DumpCompleteSensor(
        task_id="wait_for_dump",
        path="{{ params.dump_url }}",
        source_conn_id=AWS_CONN_ID,
        mode="reschedule",
        poke_interval=300,
        timeout=6 * 3600,
    )
    import_dump = LightningImportOperator(
        task_id="import_dump",
        tidb_conn_id=TIDB_CONN_ID,
        data_source_dir="{{ params.dump_url }}",
        source_conn_id=AWS_CONN_ID,
        routes="{{ params.routes }}",
        on_duplicate="replace",
    )

    wait_for_dump >> import_dump

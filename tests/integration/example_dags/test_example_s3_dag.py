"""The S3 example DAG run end to end with ``dag.test()``: moto's S3 server, an Airflow AWS connection, the test server.

The sample's mydumper dump is uploaded under ``s3://dumps/tpch-sql/``; the DAG's sensor reads its
``metadata`` object and the import must equal the sample executed by the ``mariadb`` client.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.support.airflow_compat import run_dag_test
from tests.support.db_checks import TPCH_COUNTS, database_checksums
from tests.support.paths import REPO


@pytest.fixture
def s3_dag_env(tidb_conn_id, s3_endpoint) -> Iterator[str]:
    """The DAG's parse-time settings: the test target and an ``aws`` connection to moto (endpoint in the extra)."""
    aws_conn_id = f"aws_s3_dag_{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIDB_LIGHTNING_DEMO_CONN_ID", tidb_conn_id)
        patch.setenv("TIDB_LIGHTNING_DEMO_AWS_CONN_ID", aws_conn_id)
        patch.setenv(f"AIRFLOW_CONN_{aws_conn_id.upper()}", json.dumps({
            "conn_type": "aws", "login": s3_endpoint.access_key, "password": s3_endpoint.secret_key,
            "extra": {"endpoint_url": s3_endpoint.endpoint, "region_name": "us-east-1"},
        }))
        yield aws_conn_id


def test_s3_example_imports_the_dump(airflow_db, s3_dag_env, db_server, s3_sample, make_database, reference_db):
    from tests.support.airflow_compat import DagBag, xcom_return_value

    target = make_database("s3dag")
    bag = DagBag(dag_folder=str(REPO / "example_dags" / "tidb_lightning_from_s3.py"))
    assert bag.import_errors == {}
    dag = bag.get_dag("tidb_lightning_from_s3")
    dag_run = run_dag_test(dag, datetime(2025, 3, 1, tzinfo=UTC), run_conf={
        "dump_url": f"s3://dumps/{s3_sample}", "routes": [{"schema-pattern": "tpch", "target-schema": target}],
    })
    assert dag_run.state == "success"
    summary = xcom_return_value(dag_run, "import_dump")
    assert summary["total_rows"] == sum(TPCH_COUNTS.values())
    with db_server.connect() as conn:
        assert database_checksums(conn, target) == database_checksums(conn, reference_db)

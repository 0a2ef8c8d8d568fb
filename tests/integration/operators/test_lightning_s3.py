"""The operator and the dump sensor reading a dump from S3 with an Airflow AWS connection.

The connection is a real ``aws`` connection (``apache-airflow-providers-amazon``) whose extra sets
``endpoint_url`` to moto's server on 127.0.0.1; the operator turns it into a filesystem through
Airflow's ``ObjectStoragePath`` and the engine imports with it. The URL carries no credentials.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from airflow_provider_tidb_lightning.sensors.dump import DumpCompleteSensor
from tests.support.db_checks import table_checksum

SMALL_TABLES = {"nation": 25, "region": 5}


def _context() -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="s3_tests", task_id="import", run_id=f"manual__{uuid.uuid4().hex}", map_index=-1)
    return {"ti": ti}


@pytest.fixture
def aws_conn(s3_endpoint) -> Iterator[Any]:
    """Define an ``aws`` connection through the environment; yields a function making one with given keys."""
    defined: list[str] = []

    def define(secret_key: str | None = None) -> str:
        conn_id = f"s3_test_{uuid.uuid4().hex[:8]}"
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({
            "conn_type": "aws", "login": s3_endpoint.access_key, "password": secret_key or s3_endpoint.secret_key,
            "extra": {"endpoint_url": s3_endpoint.endpoint, "region_name": "us-east-1"},
        })
        defined.append(conn_id)
        return conn_id

    yield define
    for conn_id in defined:
        os.environ.pop(f"AIRFLOW_CONN_{conn_id.upper()}", None)


def test_operator_imports_from_s3_with_an_aws_connection(db_server, tidb_conn_id, s3_sample, aws_conn, target,
                                                        reference_db):
    op = LightningImportOperator(
        task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=f"s3://dumps/{s3_sample}",
        source_conn_id=aws_conn(), filters=[f"tpch.{t}" for t in SMALL_TABLES],
        routes=[{"schema-pattern": "tpch", "target-schema": target}], on_duplicate="error",
    )
    summary = op.execute(_context())
    json.dumps(summary)
    assert summary["total_rows"] == sum(SMALL_TABLES.values())
    with db_server.connect() as conn:
        for table, rows in SMALL_TABLES.items():
            ours = table_checksum(conn, target, table)
            assert ours["rows"] == rows and ours == table_checksum(conn, reference_db, table)


def test_a_refused_connection_is_one_clear_error(tidb_conn_id, s3_endpoint, s3_sample, aws_conn, target):
    from tests.support.airflow_compat import AirflowException

    op = LightningImportOperator(
        task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=f"s3://dumps/{s3_sample}",
        source_conn_id=aws_conn(secret_key="wrong-secret"),
        routes=[{"schema-pattern": "tpch", "target-schema": target}],
    )
    with pytest.raises(AirflowException) as info:
        op.execute(_context())
    message = str(info.value)
    assert "access refused" in message and "s3://dumps/tpch-sql" in message and "\n" not in message
    assert "wrong-secret" not in message


def test_secrets_in_the_url_are_masked_in_the_task_log(db_server, tidb_conn_id, s3_endpoint, s3_sample, target,
                                                       caplog, capfd):
    op = LightningImportOperator(
        task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=s3_endpoint.url(s3_sample),
        filters=["tpch.region"], routes=[{"schema-pattern": "tpch", "target-schema": target}],
    )
    caplog.set_level(logging.INFO)
    summary = op.execute(_context())
    assert summary["total_rows"] == 5
    out, err = capfd.readouterr()
    logged = caplog.text + out + err  # Airflow 3's task logger writes to the stream, Airflow 2's to logging
    assert "secret-access-key=******" in logged
    assert not s3_endpoint.leaks_secret(logged) and not s3_endpoint.leaks_secret(json.dumps(summary))


def test_dump_sensor_reads_the_metadata_object(s3_endpoint, s3_sample, aws_conn, sample_sql):
    conn_id = aws_conn()
    done = DumpCompleteSensor(task_id="wait", path=f"s3://dumps/{s3_sample}", source_conn_id=conn_id)
    assert done.poke({}) is True
    client = s3_endpoint.client()
    client.put_object(Bucket="dumps", Key="partial/metadata", Body=b"Started dump at: 2025-01-01 00:00:00\n")
    partial = DumpCompleteSensor(task_id="wait", path="s3://dumps/partial", source_conn_id=conn_id)
    assert partial.poke({}) is False
    missing = DumpCompleteSensor(task_id="wait", path="s3://dumps/not-yet", source_conn_id=conn_id)
    assert missing.poke({}) is False
    assert "Finished dump at" in (sample_sql / "metadata").read_text()

"""The dump and target sensors against real directories, a real server and a real HTTP status port."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.hooks.readiness import status_port_problem, target_not_ready_reason
from airflow_provider_tidb_lightning.sensors.dump import DumpCompleteSensor, dump_finished
from airflow_provider_tidb_lightning.sensors.target import TiDBTargetReadySensor
from tests.support.ports import closed_port

CLOSED_CONN_ID = "tidb_closed_port"


# --- dump sensor -------------------------------------------------------------------------------------


def test_dump_finished_follows_the_metadata_file(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    assert not dump_finished(dump), "a dump directory that does not exist yet is not finished"
    dump.mkdir()
    assert not dump_finished(dump)
    (dump / "metadata.partial").write_text("Started dump at: 2025-01-01 00:00:00\n")
    assert not dump_finished(dump), "mydumper's metadata.partial is written while the dump runs"
    (dump / "metadata").write_text("Started dump at: 2025-01-01 00:00:00\nSHOW MASTER STATUS:\n")
    assert not dump_finished(dump)
    with (dump / "metadata").open("a") as metadata:
        metadata.write("Finished dump at: 2025-01-01 00:10:00\n")
    assert dump_finished(str(dump))


def test_dump_finished_on_the_sample(sample_dir: Path) -> None:
    assert dump_finished(sample_dir / "mydumper-sql")
    assert not dump_finished(sample_dir / "tbl")


def test_dump_finished_raises_when_the_path_is_a_file(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(NotADirectoryError):
        dump_finished(not_a_dir)


def test_dump_sensor_pokes_and_times_out(tmp_path: Path) -> None:
    from tests.support.airflow_compat import AirflowSensorTimeout

    sensor = DumpCompleteSensor(task_id="wait", path=str(tmp_path), poke_interval=0.05, timeout=0.3)
    assert sensor.template_fields == ("path",)
    assert sensor.poke({}) is False
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute({})
    (tmp_path / "metadata").write_text("Started dump at: x\nFinished dump at: y\n")
    assert sensor.poke({}) is True
    sensor.execute({})


# --- target readiness --------------------------------------------------------------------------------


def test_target_ready_against_the_server(db_server, tidb_conn_id: str) -> None:
    assert target_not_ready_reason(db_server.tidb_section()) is None
    sensor = TiDBTargetReadySensor(task_id="ready", tidb_conn_id=tidb_conn_id, timeout=5)
    assert sensor.poke({}) is True
    sensor.execute({})


def test_schema_and_empty_table_conditions(db_server, fresh_db: str, tidb_conn_id: str) -> None:
    tidb = db_server.tidb_section()
    missing = target_not_ready_reason(tidb, schema=f"{fresh_db}_missing")
    assert missing is not None and "does not exist" in missing
    assert target_not_ready_reason(tidb, schema=fresh_db) is None

    reason = target_not_ready_reason(tidb, schema=fresh_db, empty_table="orders")
    assert reason == f"table {fresh_db}.orders does not exist on {db_server.host}:{db_server.port}"
    with db_server.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE orders (id INT PRIMARY KEY)")
    assert target_not_ready_reason(tidb, schema=fresh_db, empty_table="orders") is None
    assert target_not_ready_reason(tidb, empty_table=f"{fresh_db}.orders") is None
    sensor = TiDBTargetReadySensor(
        task_id="ready", tidb_conn_id=tidb_conn_id, schema=fresh_db, empty_table="orders"
    )
    assert sensor.poke({}) is True

    with db_server.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO orders VALUES (1)")
    reason = target_not_ready_reason(tidb, empty_table=f"{fresh_db}.orders")
    assert reason is not None and "is not empty" in reason
    assert sensor.poke({}) is False


def test_empty_table_without_a_database_is_a_usage_error(db_server) -> None:
    with pytest.raises(ValueError, match="has no database"):
        target_not_ready_reason(db_server.tidb_section(), empty_table="orders")


@pytest.fixture
def closed_port_conn_id(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An Airflow connection to a port nothing listens on, with a password that must never leak."""
    with closed_port() as port:
        conn = {"conn_type": "tidb", "host": "127.0.0.1", "port": port, "login": "root",
                "password": "s3cret-never-shown", "extra": {"connect_timeout": 1}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{CLOSED_CONN_ID.upper()}", json.dumps(conn))
        yield CLOSED_CONN_ID


def test_target_sensor_times_out_on_a_closed_port(closed_port_conn_id: str, caplog) -> None:
    from tests.support.airflow_compat import AirflowSensorTimeout

    sensor = TiDBTargetReadySensor(
        task_id="ready", tidb_conn_id=closed_port_conn_id, poke_interval=0.1, timeout=0.5
    )
    assert sensor.poke({}) is False
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute({})
    assert "s3cret-never-shown" not in caplog.text


def test_not_ready_reason_names_the_server_not_the_password(db_server) -> None:
    with closed_port() as port:
        reason = target_not_ready_reason(db_server.tidb_section(port=port, password="s3cret"), timeout=1)
    assert reason is not None
    assert f"127.0.0.1:{port}" in reason and "s3cret" not in reason


# --- TiDB status port ---------------------------------------------------------------------------------


@pytest.fixture
def status_server() -> Iterator[Callable[[int, bytes], int]]:
    """``serve(code, body) -> port``: a local HTTP server answering ``/status`` like TiDB's status port."""
    servers: list[http.server.HTTPServer] = []

    def serve(code: int, body: bytes) -> int:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status = code if self.path == "/status" else 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


HEALTHY = b'{"connections":0,"version":"8.0.11-TiDB-v7.5.0","git_hash":"abc"}'


def test_status_port_healthy_unhealthy_and_closed(db_server, status_server) -> None:
    healthy = status_server(200, HEALTHY)
    assert status_port_problem(db_server.tidb_section(status_port=healthy)) is None

    failing = status_server(503, b"{}")
    problem = status_port_problem(db_server.tidb_section(status_port=failing))
    assert problem == f"status port http://{db_server.host}:{failing}/status answered HTTP 503"

    not_json = status_server(200, b"<html>proxy</html>")
    assert "did not answer JSON" in status_port_problem(db_server.tidb_section(status_port=not_json))

    with closed_port() as closed:
        assert "unreachable" in status_port_problem(db_server.tidb_section(status_port=closed), timeout=1)


def test_sensor_checks_the_connections_status_port(
    db_server, status_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def conn_id_with_status_port(name: str, port: int) -> str:
        conn = {"conn_type": "tidb", "host": db_server.host, "port": db_server.port, "login": db_server.user,
                "password": db_server.password, "extra": {"status_port": port}}
        monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", json.dumps(conn))
        return name

    healthy = conn_id_with_status_port("tidb_status_ok", status_server(200, HEALTHY))
    unhealthy = conn_id_with_status_port("tidb_status_bad", status_server(500, b"{}"))
    assert TiDBTargetReadySensor(task_id="a", tidb_conn_id=healthy, check_status_port=True).poke({})
    assert not TiDBTargetReadySensor(task_id="b", tidb_conn_id=unhealthy, check_status_port=True).poke({})
    # Without check_status_port the HTTP side is not consulted: MySQL/MariaDB targets have none.
    assert TiDBTargetReadySensor(task_id="c", tidb_conn_id=unhealthy).poke({})


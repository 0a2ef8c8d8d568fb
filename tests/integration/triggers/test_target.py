"""TiDBTargetReadyTrigger: serialisation for the triggerer, and its events from a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from airflow_provider_tidb_lightning.sensors.target import TiDBTargetReadySensor
from airflow_provider_tidb_lightning.triggers.target import TiDBTargetReadyTrigger
from tests.support.ports import closed_port

CLASSPATH = "airflow_provider_tidb_lightning.triggers.target.TiDBTargetReadyTrigger"


async def _first_event_async(trigger: TiDBTargetReadyTrigger) -> Any:
    """Run the trigger until its first event, as the triggerer would."""
    async for event in trigger.run():
        return event
    raise AssertionError("the trigger ended without an event")


def _first_event(trigger: TiDBTargetReadyTrigger, timeout: float = 20) -> Any:
    return asyncio.run(asyncio.wait_for(_first_event_async(trigger), timeout))


def test_serialize_round_trip() -> None:
    from tests.support.airflow_compat import import_string

    trigger = TiDBTargetReadyTrigger(
        "tidb_x", check_status_port=True, schema="app", empty_table="orders", poke_interval=7.5
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert kwargs == {
        "tidb_conn_id": "tidb_x",
        "check_status_port": True,
        "schema": "app",
        "empty_table": "orders",
        "poke_interval": 7.5,
    }
    json.dumps(kwargs)  # the triggerer stores the kwargs as JSON
    rebuilt = import_string(classpath)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


def test_run_yields_success_for_a_ready_target(tidb_conn_id: str, fresh_db: str) -> None:
    event = _first_event(TiDBTargetReadyTrigger(tidb_conn_id, schema=fresh_db, poke_interval=0.1))
    assert event.payload["status"] == "success"
    assert "is ready" in event.payload["message"]


def test_run_keeps_waiting_until_the_target_is_ready(db_server, tidb_conn_id: str, fresh_db: str) -> None:
    """Not ready is not an error: the trigger polls, and fires once the table shows up."""
    trigger = TiDBTargetReadyTrigger(tidb_conn_id, schema=fresh_db, empty_table="late", poke_interval=0.1)

    async def scenario() -> Any:
        waiting = asyncio.ensure_future(_first_event_async(trigger))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "the trigger fired before the table existed"
        await asyncio.to_thread(_create_table, db_server, fresh_db)
        return await asyncio.wait_for(waiting, 10)

    event = asyncio.run(scenario())
    assert event.payload["status"] == "success"


def _create_table(db_server, database: str) -> None:
    with db_server.connect(database) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE late (id INT PRIMARY KEY)")


def test_run_does_not_fire_for_a_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with closed_port() as port:
        conn = {"conn_type": "tidb", "host": "127.0.0.1", "port": port, "login": "root", "password": "pw"}
        monkeypatch.setenv("AIRFLOW_CONN_TIDB_TRIGGER_CLOSED", json.dumps(conn))
        with pytest.raises(TimeoutError):
            _first_event(TiDBTargetReadyTrigger("tidb_trigger_closed", poke_interval=0.1), timeout=1)


def test_run_yields_error_for_an_unknown_connection() -> None:
    event = _first_event(TiDBTargetReadyTrigger("tidb_no_such_connection", poke_interval=0.1))
    assert event.payload["status"] == "error"
    assert "tidb_no_such_connection" in event.payload["message"]


def test_deferrable_sensor_defers_to_the_trigger_and_resumes(tidb_conn_id: str) -> None:
    from tests.support.airflow_compat import AirflowException, TaskDeferred

    sensor = TiDBTargetReadySensor(
        task_id="ready", tidb_conn_id=tidb_conn_id, schema="app", deferrable=True, poke_interval=3, timeout=90
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout.total_seconds() == 90
    assert deferred.value.trigger.serialize() == (
        CLASSPATH,
        {"tidb_conn_id": tidb_conn_id, "check_status_port": False, "schema": "app", "empty_table": None,
         "poke_interval": 3.0},
    )
    sensor.execute_complete({}, {"status": "success", "message": "ready"})
    with pytest.raises(AirflowException, match="no such connection"):
        sensor.execute_complete({}, {"status": "error", "message": "no such connection"})


def test_run_uses_a_connection_fixed_while_it_waits(db_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong password keeps the trigger waiting; the corrected connection is used at the next check."""
    variable = "AIRFLOW_CONN_TIDB_TRIGGER_FIXED"
    conn = {"conn_type": "tidb", "host": db_server.host, "port": db_server.port, "login": db_server.user,
            "password": "wrong-password"}
    monkeypatch.setenv(variable, json.dumps(conn))
    trigger = TiDBTargetReadyTrigger("tidb_trigger_fixed", poke_interval=0.1)

    async def scenario() -> Any:
        waiting = asyncio.ensure_future(_first_event_async(trigger))
        await asyncio.sleep(0.5)
        assert not waiting.done(), "the trigger fired with a wrong password"
        monkeypatch.setenv(variable, json.dumps({**conn, "password": db_server.password}))
        return await asyncio.wait_for(waiting, 10)

    event = asyncio.run(scenario())
    assert event.payload == {"status": "success", "message": f"{db_server.host}:{db_server.port} is ready"}


def test_deferrable_sensor_does_not_defer_when_the_target_is_ready(tidb_conn_id: str, fresh_db: str) -> None:
    sensor = TiDBTargetReadySensor(
        task_id="ready", tidb_conn_id=tidb_conn_id, schema=fresh_db, deferrable=True, poke_interval=3, timeout=90
    )
    sensor.execute({})  # returns instead of raising TaskDeferred

"""LightningImportOperator: cheap construction, templating, configuration layering, errors, cancel and resume.

``execute`` is called directly with a context holding the task instance's identity (the only part
of the context the operator reads), against the real test server; full DAG runs, retries
included, are in test_example_dags.py.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_tidb_lightning.operators.lightning import LightningImportOperator
from tests.support.hold import execute_killed_mid_import

SMALL_TABLES = {"nation": 25, "region": 5}


def _context(run_id: str | None = None, map_index: int = -1) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="operator_tests", task_id="import", run_id=run_id or f"manual__{uuid.uuid4().hex}",
        map_index=map_index,
    )
    return {"ti": ti}


def _tables(db_server, database: str) -> dict[str, int]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        names = [name for (name,) in cur.fetchall()]
        counts = {}
        for name in names:
            cur.execute(f"SELECT COUNT(*) FROM `{database}`.`{name}`")
            counts[name] = cur.fetchone()[0]
        return counts


def _route_to(database: str) -> list[dict[str, str]]:
    return [{"schema-pattern": "tpch", "target-schema": database}]


def test_construction_does_no_io() -> None:
    op = LightningImportOperator(
        task_id="import", tidb_conn_id="no_such_connection", config="/no/such/task.toml",
        data_source_dir="/no/such/dump",
    )
    assert op.template_fields == ("data_source_dir", "config", "config_overrides", "filters", "routes")
    assert not any(ext.endswith(".toml") for ext in op.template_ext)


def test_templated_fields_render_and_a_toml_path_stays_a_path(tmp_path: Path) -> None:
    toml = tmp_path / "2025-01-02.toml"
    toml.write_text("this is not a template and must not be read")
    op = LightningImportOperator(
        task_id="import",
        config=str(tmp_path / "{{ ds }}.toml"),
        data_source_dir="/dumps/{{ ds }}",
        filters=["{{ params.db }}.*"],
        routes=[{"schema-pattern": "{{ params.db }}", "target-schema": "{{ params.db }}_{{ ds_nodash }}"}],
        config_overrides={"lightning.max-error.type": "{{ params.budget }}"},
    )
    op.render_template_fields({"ds": "2025-01-02", "ds_nodash": "20250102", "params": {"db": "app", "budget": 3}})
    assert op.config == str(toml)
    assert op.data_source_dir == "/dumps/2025-01-02"
    assert op.filters == ["app.*"]
    assert op.routes == [{"schema-pattern": "app", "target-schema": "app_20250102"}]
    assert op.config_overrides == {"lightning.max-error.type": "3"}


def test_execute_layers_the_configuration_and_uses_the_connection(
    db_server, tidb_conn_id: str, fresh_db: str, sample_dir: Path, tmp_path: Path
) -> None:
    """TOML < config_overrides < explicit arguments; [tidb] and the checkpoint driver come from the operator."""
    checkpoint_file = tmp_path / "checkpoint.pb"
    toml = tmp_path / "task.toml"
    toml.write_text(
        "[tidb]\nhost = \"192.0.2.1\"\nport = 1\nuser = \"nobody\"\n"  # would fail if it were used
        f"[checkpoint]\ndriver = \"file\"\ndsn = \"{checkpoint_file}\"\n"
        "[mydumper]\ndata-source-dir = \"/no/such/dump\"\nfilter = [\"tpch.lineitem\"]\n"
        "[conflict]\nstrategy = \"bogus\"\n"
    )
    op = LightningImportOperator(
        task_id="import",
        tidb_conn_id=tidb_conn_id,
        config=str(toml),
        data_source_dir=str(sample_dir / "mydumper-sql"),
        on_duplicate="error",
        filters=["tpch.nation", "tpch.region"],
        routes=_route_to(fresh_db),
        config_overrides={"mydumper.filter": ["tpch.orders"], "conflict.strategy": "also-bogus"},
    )
    context = _context(map_index=4)
    summary = op.execute(context)
    json.dumps(summary)  # XCom stores it as JSON
    assert summary["task_id"] == f"operator_tests.import.{context['ti'].run_id}.4"
    assert summary["total_rows"] == sum(SMALL_TABLES.values())
    assert _tables(db_server, fresh_db) == SMALL_TABLES
    assert not checkpoint_file.exists(), "the checkpoint belongs on the target, not in the TOML's file"


def test_configuration_mistakes_fail_without_retries(tidb_conn_id: str, sample_dir: Path) -> None:
    from tests.support.airflow_compat import AirflowFailException

    op = LightningImportOperator(
        task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=str(sample_dir / "mydumper-sql"),
        on_duplicate="sometimes",
    )
    with pytest.raises(AirflowFailException, match="conflict.strategy"):
        op.execute(_context())


def test_engine_errors_keep_their_message(tidb_conn_id: str, tmp_path: Path) -> None:
    from tests.support.airflow_compat import AirflowException

    missing = tmp_path / "no-dump-here"
    op = LightningImportOperator(task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=str(missing))
    with pytest.raises(AirflowException, match="no-dump-here"):
        op.execute(_context())


def test_on_kill_stops_the_import_and_the_same_task_instance_resumes(
    db_server, tidb_conn_id: str, fresh_db: str, sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel mid-way; the same TI resumes where it stopped; another DAG run starts from scratch.

    ``on_duplicate="error"`` is the witness: re-inserting a committed row fails, so the resumed
    run succeeding means nothing was written twice, and the new run failing means it started over.
    """
    from tests.support.airflow_compat import AirflowException

    def make_operator() -> LightningImportOperator:
        return LightningImportOperator(
            task_id="import",
            tidb_conn_id=tidb_conn_id,
            data_source_dir=str(sample_dir / "mydumper-sql"),
            filters=["tpch.lineitem"],
            routes=_route_to(fresh_db),
            on_duplicate="error",
            # Small batches: many commits, so the cancel lands in the middle.
            config_overrides={"tikv-importer.logical-import-batch-rows": 200, "lightning.region-concurrency": 1},
        )

    context = _context()
    op = make_operator()

    def execute() -> None:
        with pytest.raises(AirflowException):
            op.execute(context)

    # The writer waits after its fifth batch until on_kill() was called: mid-import on any machine.
    killed_at = execute_killed_mid_import(monkeypatch, tmp_path / "hold", execute, op.on_kill)
    assert killed_at is not None, "the import ended before its fifth batch"
    assert time.monotonic() - killed_at < 30, "the import did not stop within 30 s of on_kill()"
    partial = _tables(db_server, fresh_db)["lineitem"]
    assert 0 < partial < 60175

    summary = make_operator().execute(context)  # a retry of the same task instance
    assert summary["resumed"] is True
    # The retry's own rows, and the whole import's (the cancelled try's included) for a report task.
    assert (summary["total_rows"], summary["import_total_rows"]) == (60175 - partial, 60175)
    assert _tables(db_server, fresh_db) == {"lineitem": 60175}

    with pytest.raises(AirflowException, match="lineitem"):
        make_operator().execute(_context())  # the next DAG run: fresh checkpoint, so duplicates


def test_session_settings_of_the_task_file_are_kept(db_server, tidb_conn_id: str, fresh_db: str,
                                                    tmp_path: Path) -> None:
    """The connection gives the server and login; the TOML's sql-mode still shapes the import session."""
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "src.t-schema.sql").write_text("CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(3));\n")
    (dump / "src.t.sql").write_text("INSERT INTO `t` VALUES (1,'abcdef');\n")
    toml = tmp_path / "task.toml"
    toml.write_text('[tidb]\nsql-mode = ""\nhost = "192.0.2.1"\n')  # non-strict: the long value is truncated
    op = LightningImportOperator(task_id="import", tidb_conn_id=tidb_conn_id, config=str(toml),
                                 data_source_dir=str(dump),
                                 routes=[{"schema-pattern": "src", "target-schema": fresh_db}])
    op.execute(_context())
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT v FROM `{fresh_db}`.t")
        assert cur.fetchone() == ("abc",)


def test_an_existing_mysql_connection_works_too(
    db_server, fresh_db: str, sample_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MySqlHook user's ``mysql`` connection to the server imports, and lineage names it mysql://host:port."""
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_TARGET", json.dumps({
        "conn_type": "mysql", "host": db_server.host, "port": db_server.port, "login": db_server.user,
        "password": db_server.password,
    }))
    op = LightningImportOperator(
        task_id="import", tidb_conn_id="mysql_target", data_source_dir=str(sample_dir / "mydumper-sql"),
        filters=["tpch.nation", "tpch.region"], routes=_route_to(fresh_db),
    )
    op.execute(_context())
    assert _tables(db_server, fresh_db) == SMALL_TABLES
    lineage = op.get_openlineage_facets_on_complete(None)
    namespace = f"mysql://{db_server.host}:{db_server.port}"
    assert sorted((o.namespace, o.name) for o in lineage.outputs) == [
        (namespace, f"{fresh_db}.nation"), (namespace, f"{fresh_db}.region")]
    assert {o.outputFacets["outputStatistics"].rowCount for o in lineage.outputs} == set(SMALL_TABLES.values())


def test_a_mysql_connection_without_a_port_means_3306(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_tidb_lightning.hooks.tidb import TiDBHook

    for conn_type, port in (("mysql", 3306), ("tidb", 4000)):
        monkeypatch.setenv("AIRFLOW_CONN_NO_PORT", json.dumps({"conn_type": conn_type, "host": "db.internal"}))
        hook = TiDBHook(tidb_conn_id="no_port")
        assert hook.get_tidb_section().port == port
        info = hook.get_openlineage_database_info(hook.connection)
        assert (info.scheme, info.authority) == ("mysql", f"db.internal:{port}")


def test_dry_run_returns_the_plan_and_writes_nothing(db_server, tidb_conn_id: str, fresh_db: str,
                                                     sample_dir: Path) -> None:
    op = LightningImportOperator(
        task_id="import", tidb_conn_id=tidb_conn_id, data_source_dir=str(sample_dir / "mydumper-sql"),
        filters=["tpch.nation", "tpch.region"], routes=_route_to(fresh_db), dry_run=True,
    )
    context = _context()
    plan = op.execute(context)
    json.dumps(plan)
    assert plan["dry_run"] is True and plan["problems"] == []
    assert plan["task_id"] == f"operator_tests.import.{context['ti'].run_id}.-1"
    assert [t["table"] for t in plan["tables"]] == [f"`{fresh_db}`.`nation`", f"`{fresh_db}`.`region`"]
    assert _tables(db_server, fresh_db) == {}
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'tidb_lightning_checkpoint'")
        had_checkpoint_schema = cur.fetchone()[0]
        if had_checkpoint_schema:  # left by another test: this task's checkpoint must not be in it
            cur.execute("SELECT COUNT(*) FROM `tidb_lightning_checkpoint`.`task_v1` WHERE `task_id` = %s",
                        (plan["task_id"],))
            assert cur.fetchone()[0] == 0
    assert op._imported == []  # nothing for asset events or lineage


def test_dry_run_fails_without_retries_on_a_failed_pre_check(tidb_conn_id: str, sample_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch, db_server) -> None:
    from tests.support.airflow_compat import AirflowFailException

    monkeypatch.setenv("AIRFLOW_CONN_TIDB_NOBODY", json.dumps({
        "conn_type": "tidb", "host": db_server.host, "port": db_server.port, "login": "nobody_at_all",
        "password": "pw-3c9a"}))
    op = LightningImportOperator(task_id="import", tidb_conn_id="tidb_nobody",
                                 data_source_dir=str(sample_dir / "mydumper-sql"), dry_run=True)
    with pytest.raises(AirflowFailException, match="cannot connect to the target") as failed:
        op.execute(_context())
    assert "pw-3c9a" not in str(failed.value)

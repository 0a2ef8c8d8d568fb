"""Loader -> tidb-lightning conversion (the table in TiDB's migration guide) and the TOML writer."""

from __future__ import annotations

import logging

import pytest
import tomli

from airflow_provider_tidb_lightning.lightning.config import (
    convert_loader_config,
    dump_task_toml,
    load_task_config,
    task_config_to_dict,
)
from airflow_provider_tidb_lightning.lightning.config.model import Route
from airflow_provider_tidb_lightning.lightning.errors import ConfigError

# The Loader column of the documentation's table, with the route rule uncommented.
LOADER_EXAMPLE = """
log-level = "info"
log-file = "loader.log"
status-addr = ":8272"
pool-size = 16
checkpoint-schema = "tidb_loader"
dir = "/data/export/"

[db]
host = "127.0.0.1"
port = 4000
user = "root"
password = ""

[[route-rules]]
pattern-schema = "shard_db_*"
pattern-table = "shard_table_*"
target-schema = "shard_db"
target-table = "shard_table"
"""

EXPECTED_TASK = {
    "lightning": {"level": "info", "file": "loader.log", "status-addr": ":8272", "region-concurrency": 16},
    "checkpoint": {"enable": True, "schema": "tidb_loader", "driver": "mysql"},
    "tikv-importer": {"backend": "tidb"},
    "mydumper": {"data-source-dir": "/data/export"},
    "tidb": {"host": "127.0.0.1", "port": 4000, "user": "root", "password": "", "status-port": 10080},
    "routes": [
        {
            "schema-pattern": "shard_db_*",
            "table-pattern": "shard_table_*",
            "target-schema": "shard_db",
            "target-table": "shard_table",
        }
    ],
}

LOGGER = "airflow_provider_tidb_lightning.lightning.config.loader_migration"


def test_the_documentations_example_converts_key_by_key(tmp_path, caplog):
    path = tmp_path / "loader.toml"
    path.write_text(LOADER_EXAMPLE, encoding="utf-8")

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        task = convert_loader_config(path)

    assert task == EXPECTED_TASK
    assert [r.getMessage() for r in caplog.records] == []


def test_converted_task_loads_as_a_tidb_backend_task():
    cfg = load_task_config(convert_loader_config(tomli.loads(LOADER_EXAMPLE)))

    assert cfg.tikv_importer.backend == "tidb"
    assert (cfg.checkpoint.enable, cfg.checkpoint.driver, cfg.checkpoint.schema) == (
        True,
        "mysql",
        "tidb_loader",
    )
    assert cfg.lightning.region_concurrency == 16
    assert cfg.mydumper.data_source_dir == "/data/export"
    assert cfg.tidb.status_port == 10080
    assert cfg.routes == [Route("shard_db_*", "shard_table_*", "shard_db", "shard_table")]


def test_sql_mode_and_rm_checkpoint_are_carried_over():
    task = convert_loader_config({"db": {"host": "h", "sql-mode": "ANSI_QUOTES"}, "rm-checkpoint": False})

    assert task["tidb"] == {"host": "h", "sql-mode": "ANSI_QUOTES", "status-port": 10080}
    assert task["checkpoint"] == {"keep-after-success": "origin"}  # Loader kept its checkpoints by default
    assert convert_loader_config({"rm-checkpoint": True})["checkpoint"] == {"keep-after-success": "remove"}


def test_minimal_loader_config_still_names_the_backend_and_status_port():
    assert convert_loader_config({}) == {"tikv-importer": {"backend": "tidb"}, "tidb": {"status-port": 10080}}


def test_unknown_loader_keys_are_listed_in_one_warning(caplog):
    loader = {
        "dir": "/d",
        "do-db": ["app"],
        "alternative-db": "x",
        "db": {"host": "h", "charset": "utf8"},
        "route-rules": [{"pattern-schema": "a", "target-schema": "b", "extract-table": "c"}],
    }

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        task = convert_loader_config(loader)

    assert task["routes"] == [{"schema-pattern": "a", "target-schema": "b"}]
    assert "charset" not in task["tidb"]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    for key in ("do-db", "alternative-db", "db.charset", "route-rules[0].extract-table"):
        assert key in message
    assert "mydumper] filter" in message


def test_unreadable_loader_config(tmp_path):
    with pytest.raises(ConfigError) as info:
        convert_loader_config(tmp_path / "missing.toml")
    assert info.value.source == str(tmp_path / "missing.toml")

    bad = tmp_path / "bad.toml"
    bad.write_text("dir = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        convert_loader_config(bad)

    with pytest.raises(ConfigError) as info:
        convert_loader_config({"route-rules": ["shard_*"]})
    assert info.value.key == "route-rules[0]"


# --- TOML writer ------------------------------------------------------------------------------------


def test_dump_task_toml_round_trips_through_tomli():
    task = {
        "top": "level",
        "lightning": {"level": "info", "region-concurrency": 16, "max-error": {"type": 3, "syntax": 0}},
        "checkpoint": {"enable": False},
        "mydumper": {
            "data-source-dir": '/data/with "quotes" and \\ back',
            "filter": ["*.*", "!mysql.*"],
            "files": [],
            "csv": {"separator": "\t", "terminator": "\r\n", "null": ["\\N"], "invalid": "\x00\x1f\x7f"},
            "data-invalid-char-replace": "\ufffd",
        },
        "tidb": {"session-vars": {"time_zone": "+00:00", "weird key.with dot": 1}, "empty": {}},
        "routes": [
            {"schema-pattern": "a_*", "target-schema": "a"},
            {"schema-pattern": "b_*", "target-schema": "b", "nested": {"deep": True}},
        ],
    }

    assert tomli.loads(dump_task_toml(task)) == task


def test_dump_task_toml_writes_sections_like_the_documentation():
    text = dump_task_toml(EXPECTED_TASK)

    assert text.startswith('[lightning]\nlevel = "info"\n')
    assert '\n[tikv-importer]\nbackend = "tidb"\n' in text
    assert '\n[[routes]]\nschema-pattern = "shard_db_*"\n' in text
    assert text.endswith("\n") and not text.endswith("\n\n")


@pytest.mark.parametrize("value", [1.5, None, [["nested"]], [{"a": 1}, "mixed"]])
def test_dump_task_toml_refuses_values_a_task_file_never_holds(value):
    with pytest.raises(TypeError, match="lightning.x"):
        dump_task_toml({"lightning": {"x": value}})


def test_task_config_dump_is_a_loadable_task_file(tmp_path):
    cfg = load_task_config(
        {"mydumper": {"data-source-dir": "/dump"}},
        overrides={"routes": [{"schema-pattern": "a", "target-schema": "b"}], "lightning.max-error": 5},
    )
    path = tmp_path / "task.toml"
    path.write_text(dump_task_toml(task_config_to_dict(cfg)), encoding="utf-8")

    again = load_task_config(path)

    assert again.routes == cfg.routes and again.lightning.max_error == cfg.lightning.max_error
    assert again.mydumper == cfg.mydumper and again.tidb == cfg.tidb

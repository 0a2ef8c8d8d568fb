"""``[conflict]`` on the real server, as tidb-lightning's TiDB backend has it.

The target already holds some keys of the dump. Under ``ignore`` (with a record limit above 0) every
duplicate is found row by row, left out and written to ``conflict_records`` with its row and the
server's error; past ``threshold`` the import stops with tidb-lightning's message. Under ``error``
the first duplicate is recorded and the import stops. ``replace`` records nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import ImportFailed
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config

ROWS = "INSERT INTO `t` VALUES (1,'new1'),(2,'new2'),(3,'new3'),(4,'new4'),(5,'new5');\n"
THRESHOLD_MESSAGE = "The number of conflict errors exceeds the threshold configured by `conflict.threshold`: '{}'"


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text("CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8));\n")
    (tmp_path / "src.t.000000001.sql").write_text(ROWS)
    return tmp_path


@pytest.fixture
def populated(db_server, fresh_db):
    """The target table with keys 2 and 4 already there."""
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{fresh_db}`.t (id INT PRIMARY KEY, v VARCHAR(8))")
        cur.execute(f"INSERT INTO `{fresh_db}`.t VALUES (2,'old2'),(4,'old4')")
    return fresh_db


def _query(db_server, sql):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _records(db_server, info):
    return _query(db_server, f"SELECT table_name, path, `offset`, error, CAST(row_data AS CHAR) "
                             f"FROM `{info}`.conflict_records ORDER BY `offset`")


def test_ignore_records_each_duplicate_with_its_row_and_the_server_error(db_server, dump, populated,
                                                                        make_database, caplog):
    info = make_database("info")
    cfg = task_config(db_server, dump, populated, source_db="src", conflict={"strategy": "ignore"},
                      lightning={"task-info-schema-name": info})
    assert cfg.statement_mode == "error"  # a plain INSERT, so each duplicate fails alone
    with caplog.at_level(logging.WARNING):
        summary = run_import(cfg)
    assert _query(db_server, f"SELECT id, v FROM `{populated}`.t ORDER BY id") == (
        (1, "new1"), (2, "old2"), (3, "new3"), (4, "old4"), (5, "new5"))
    assert summary.tables[0].rows == 3 and summary.tables[0].conflicts == 2
    table = f"`{populated}`.`t`"
    assert _records(db_server, info) == (
        (table, "src.t.000000001.sql", ROWS.index("(2,"), "Error 1062 (23000): Duplicate entry '2' for key 'PRIMARY'",
         "(2,'new2')"),
        (table, "src.t.000000001.sql", ROWS.index("(4,"), "Error 1062 (23000): Duplicate entry '4' for key 'PRIMARY'",
         "(4,'new4')"),
    )
    assert (f"Detect 2 conflict errors in total, please refer to table `{info}`.`conflict_records` for more details"
            in caplog.text)


def test_ignore_past_the_threshold_fails_with_tidb_lightnings_message(db_server, dump, populated, make_database):
    info = make_database("info")
    cfg = task_config(db_server, dump, populated, source_db="src",
                      conflict={"strategy": "ignore", "threshold": 1}, lightning={"task-info-schema-name": info})
    with pytest.raises(ImportFailed) as failed:
        run_import(cfg)
    message = str(failed.value)
    assert THRESHOLD_MESSAGE.format(1) in message
    assert f"src.t.000000001.sql at byte offset {ROWS.index('(4,')}" in message  # the row that went over
    # The batch that broke the threshold was rolled back with its records: the target is unchanged.
    assert _query(db_server, f"SELECT id FROM `{populated}`.t ORDER BY id") == ((2,), (4,))
    assert _records(db_server, info) == ()


def test_error_records_the_first_duplicate_and_stops(db_server, dump, populated, make_database, caplog):
    info = make_database("info")
    cfg = task_config(db_server, dump, populated, source_db="src", conflict={"strategy": "error"},
                      lightning={"task-info-schema-name": info})
    with caplog.at_level(logging.WARNING), pytest.raises(ImportFailed) as failed:
        run_import(cfg)
    assert "Error 1062 (23000): Duplicate entry '2' for key 'PRIMARY'" in str(failed.value)
    assert _records(db_server, info) == (
        (f"`{populated}`.`t`", "src.t.000000001.sql", ROWS.index("(2,"),
         "Error 1062 (23000): Duplicate entry '2' for key 'PRIMARY'", "(2,'new2')"),
    )
    assert _query(db_server, f"SELECT id FROM `{populated}`.t ORDER BY id") == ((2,), (4,))
    assert f"refer to table `{info}`.`conflict_records`" in caplog.text


def test_deprecated_on_duplicate_is_read_as_the_strategy(db_server, dump, populated, make_database, caplog):
    info = make_database("info")
    with caplog.at_level(logging.WARNING):
        cfg = task_config(db_server, dump, populated, source_db="src", tikv_importer={"on-duplicate": "ignore"},
                          lightning={"task-info-schema-name": info})
    assert "tikv-importer.on-duplicate is deprecated" in caplog.text
    assert (cfg.conflict.strategy, cfg.conflict.threshold, cfg.conflict.max_record_rows) == ("ignore", 10000, 10000)
    run_import(cfg)
    assert [row[2] for row in _records(db_server, info)] == [ROWS.index("(2,"), ROWS.index("(4,")]


def test_replace_counts_against_the_threshold_and_records_nothing(db_server, dump, populated, make_database):
    info = make_database("info")
    cfg = task_config(db_server, dump, populated, source_db="src", conflict={"strategy": "replace"},
                      lightning={"task-info-schema-name": info})
    summary = run_import(cfg)
    assert summary.tables[0].conflicts == 2
    assert _query(db_server, f"SELECT v FROM `{populated}`.t ORDER BY id") == (
        ("new1",), ("new2",), ("new3",), ("new4",), ("new5",))
    assert _records(db_server, info) == ()
    over = task_config(db_server, dump, populated, source_db="src", conflict={"strategy": "replace", "threshold": 1},
                       lightning={"task-info-schema-name": info})
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"UPDATE `{populated}`.t SET v = 'old'")  # so that REPLACE changes every row again
    with pytest.raises(ImportFailed, match=THRESHOLD_MESSAGE.format(1).replace("`", ".").replace("'", ".")):
        run_import(over)

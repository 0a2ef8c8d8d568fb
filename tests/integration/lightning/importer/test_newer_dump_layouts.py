"""Dump layouts of newer dumpers, written by their documented file names (Debian's mydumper is older).

* mydumper >= 0.14: an INI ``metadata`` file, ``.sql.zst`` files, sub-chunks ``db.tbl.00000.00001.sql``
  (written with ``--rows``) that belong to table ``tbl``, ``-schema-triggers.sql`` / ``-schema-post.sql``
  (ignored, as tidb-lightning does) and ``-schema-sequence.sql`` (ignored with a warning).
* Dumpling: percent-encoded database and table names, ``-schema-view.sql`` with its placeholder table.
"""

from __future__ import annotations

import logging
from pathlib import Path

import zstandard

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config

MYDUMPER_METADATA = """[config]
quote_character = BACKTICK

[myloader_session_variables]
SQL_MODE='NO_AUTO_VALUE_ON_ZERO,' /*!40101

[source]
File = mysql-bin.000003
Position = 1234

[`src`.`t`]
real_table_name=t
rows = 6
"""


def _zst(text: str) -> bytes:
    return zstandard.ZstdCompressor().compress(text.encode())


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def _select(db_server, sql):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_mydumper_0_14_layout_imports_every_sub_chunk_into_its_table(db_server, tmp_path, fresh_db, caplog):
    insert = "INSERT INTO `t` VALUES\n{};\n"
    dump = _write(tmp_path / "dump", {
        "metadata": MYDUMPER_METADATA,
        "src-schema-create.sql.zst": _zst("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `src`;\n"),
        "src.t-schema.sql.zst": _zst("CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8));\n"),
        "src.t.00000.00000.sql.zst": _zst(insert.format("(1,'a'),(2,'b')")),
        "src.t.00000.00001.sql.zst": _zst(insert.format("(3,'c')")),
        "src.t.00001.00000.sql": insert.format("(4,'d'),(5,'e')"),
        "src.t.00001.00010.sql": insert.format("(6,'f')"),
        "src.t-schema-triggers.sql": "CREATE TRIGGER `tr` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.v = 'x';\n",
        "src.t-schema-post.sql": "CREATE EVENT `ev` ON SCHEDULE EVERY 1 DAY DO DELETE FROM `t`;\n",
        "src.s-schema-sequence.sql": "CREATE SEQUENCE `s` START WITH 1 INCREMENT BY 1;\n",
    })
    cfg = task_config(db_server, dump, fresh_db, source_db="src", conflict={"strategy": "error"})
    with caplog.at_level(logging.WARNING):
        summary = run_import(cfg)
    assert [(t.table, t.rows) for t in summary.tables] == [(f"`{fresh_db}`.`t`", 6)]
    assert _select(db_server, f"SELECT id, v FROM `{fresh_db}`.t ORDER BY id") == (
        (1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (6, "f"))
    # Nothing but the table: no trigger, no event, no sequence, no stray table per sub-chunk.
    assert _select(db_server, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES "
                              f"WHERE TABLE_SCHEMA = '{fresh_db}'") == (("t", "BASE TABLE"),)
    assert _select(db_server, f"SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{fresh_db}'"
                   ) == ((0,),)
    assert "src.s-schema-sequence.sql: sequences are not imported" in caplog.text


def test_dumpling_percent_encoded_names_and_views(db_server, tmp_path, make_database):
    target = make_database("dl")
    # Dumpling escapes the dot of database `src.v1` and writes a view with its placeholder table.
    dump = _write(tmp_path / "dump", {
        "metadata": "Started dump at: 2024-01-01 00:00:00\nSHOW MASTER STATUS:\n\tLog: tidb-binlog\n",
        "src%2Ev1-schema-create.sql": "CREATE DATABASE `src.v1`;\n",
        "src%2Ev1.%E8%A1%A8-schema.sql": "CREATE TABLE `表` (`id` INT PRIMARY KEY, `名` VARCHAR(8));\n",
        "src%2Ev1.%E8%A1%A8.000000000.sql": "INSERT INTO `表` VALUES (1,'一'),(2,'二');\n",
        "src%2Ev1.%E8%A7%86-schema.sql": "CREATE TABLE `视` (`id` INT);\n",  # Dumpling's placeholder
        "src%2Ev1.%E8%A7%86-schema-view.sql": "CREATE ALGORITHM=UNDEFINED VIEW `视` AS SELECT `id` FROM `表`;\n",
    })
    cfg = task_config(db_server, dump, target, source_db="src.v1")
    run_import(cfg)
    assert _select(db_server, f"SELECT id, `名` FROM `{target}`.`表` ORDER BY id") == ((1, "一"), (2, "二"))
    assert _select(db_server, f"SELECT id FROM `{target}`.`视` ORDER BY id") == ((1,), (2,))


def test_unquoted_non_ascii_names_in_schema_files(db_server, tmp_path, fresh_db):
    """``create table 中文表 (...)`` as the TiDB parser accepts it: unquoted names of any script."""
    dump = _write(tmp_path / "dump", {
        "src-schema-create.sql": "create database src;\n",
        "src.中文表-schema.sql": "create table 中文表 (编号 int primary key, 名字 varchar(8));\n",
        "src.中文表.000000001.sql": "insert into 中文表 values (1,'甲'),(2,'乙');\n",
        "src.视图-schema.sql": "create table 视图 (编号 int);\n",
        "src.视图-schema-view.sql": "create view 视图 as select 编号 from 中文表 where 编号 > 1;\n",
    })
    run_import(task_config(db_server, dump, fresh_db, source_db="src"))
    assert _select(db_server, f"SELECT 编号, 名字 FROM `{fresh_db}`.中文表 ORDER BY 1") == ((1, "甲"), (2, "乙"))
    assert _select(db_server, f"SELECT 编号 FROM `{fresh_db}`.视图") == ((2,),)

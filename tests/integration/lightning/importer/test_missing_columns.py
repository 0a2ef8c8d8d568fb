"""A CSV header without some of the table's columns: the server fills them with their default, and the log
says so in tidb-lightning's words, naming each column once."""

from __future__ import annotations

import logging

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config

MESSAGE = "column missing from data file, going to fill with default value"


def test_missing_csv_columns_are_filled_with_defaults_and_logged(db_server, tmp_path, fresh_db, caplog):
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(
        "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8), `d` DATE DEFAULT '2020-02-02', "
        "`n` INT NOT NULL DEFAULT 7);\n")
    (tmp_path / "src.t.1.csv").write_text("ID,v\n1,a\n2,b\n")
    (tmp_path / "src.t.2.csv").write_text("id,V\n3,c\n")  # the same columns again: not logged again
    cfg = task_config(db_server, tmp_path, fresh_db, source_db="src")
    with caplog.at_level(logging.WARNING):
        run_import(cfg)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, v, CAST(d AS CHAR), n FROM `{fresh_db}`.t ORDER BY id")
        assert cur.fetchall() == ((1, "a", "2020-02-02", 7), (2, "b", "2020-02-02", 7), (3, "c", "2020-02-02", 7))
    lines = [r.getMessage() for r in caplog.records if MESSAGE in r.getMessage()]
    assert len(lines) == 2
    assert "column `d`" in lines[0] and "column `n`" in lines[1]
    # Whichever file a writer thread reads first is the one named.
    assert all(f"table `{fresh_db}`.`t`" in line and ("src.t.1.csv" in line or "src.t.2.csv" in line)
               for line in lines)

"""tidb-lightning's deprecated ``[black-white-list]`` selects tables on a real import, as ``mydumper.filter`` would."""

from __future__ import annotations

import logging

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.db_checks import TPCH_COUNTS
from tests.support.engine_helpers import task_config


def test_do_tables_and_ignore_dbs_select_what_is_imported(db_server, sample_dir, fresh_db, caplog):
    with caplog.at_level(logging.WARNING):
        cfg = task_config(db_server, sample_dir / "mydumper-sql", fresh_db,
                          black_white_list={"ignore-dbs": ["mysql", "sys"],
                                            "do-tables": [{"db-name": "tpch", "tbl-name": "n*"},
                                                          {"db-name": "~^tp", "tbl-name": "region"}]})
    assert "`black-white-list` has been deprecated" in caplog.text
    summary = run_import(cfg)
    assert {t.table: t.rows for t in summary.tables} == {
        f"`{fresh_db}`.`nation`": TPCH_COUNTS["nation"], f"`{fresh_db}`.`region`": TPCH_COUNTS["region"]}
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY 1", (fresh_db,))
        assert [row[0] for row in cur.fetchall()] == ["nation", "region"]

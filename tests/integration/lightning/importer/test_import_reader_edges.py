"""Reader edges against the real server: an empty CSV file with a header, a truncated small ``.zst``."""

from __future__ import annotations

import pytest
import zstandard

from airflow_provider_tidb_lightning.lightning.errors import LightningError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config


def _dump(tmp_path, files: dict[str, bytes]):
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text("CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(20));\n")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def _rows(db_server, db: str) -> tuple:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, v FROM `{db}`.t ORDER BY id")
        return cur.fetchall()


@pytest.mark.parametrize("header_schema_match", [True, False])
def test_an_empty_csv_file_with_a_header_is_no_rows(db_server, tmp_path, fresh_db, header_schema_match):
    dump = _dump(tmp_path, {"src.t.000.csv": b"", "src.t.001.csv": b"id,v\n1,one\n2,two\n"})
    csv = {"header": True, "header-schema-match": header_schema_match}
    summary = run_import(task_config(db_server, dump, fresh_db, source_db="src", mydumper={"csv": csv}))
    assert summary.tables[0].rows == 2
    assert _rows(db_server, fresh_db) == ((1, "one"), (2, "two"))


def test_a_truncated_small_zst_names_where_the_compressed_stream_broke(db_server, tmp_path, fresh_db):
    compressed = zstandard.ZstdCompressor().compress(b"INSERT INTO `t` VALUES (1,'a'),(2,'b');\n")
    dump = _dump(tmp_path, {"src.t.000000001.sql.zst": compressed[:-4]})
    with pytest.raises(LightningError) as info:
        run_import(task_config(db_server, dump, fresh_db, source_db="src"))
    assert "src.t.000000001.sql.zst" in str(info.value)
    assert f"truncated zstd stream: the file ends at compressed byte {len(compressed) - 4}" in str(info.value)
    assert _rows(db_server, fresh_db) == ()

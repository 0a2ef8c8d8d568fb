"""``[mydumper] character-set`` on real imports: schema files in GBK / GB18030 / latin1 are decoded and
created as UTF-8 (their own ``SET NAMES`` dropped), and a file that fits no character set stops the import
naming the file and the byte."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config

SCHEMA = ("/*!40101 SET NAMES {names}*/;\n"
          "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8) CHARACTER SET utf8mb4 DEFAULT '{default}') "
          "COMMENT '{comment}';\n")


def _dump(tmp_path, schema: bytes):
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_bytes(schema)
    (tmp_path / "src.t.000000001.sql").write_text("INSERT INTO `t` (`id`) VALUES (1);\n")
    return tmp_path


def _row_and_comment(db_server, db):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT v FROM `{db}`.t")
        (value,) = cur.fetchone()
        cur.execute("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,))
        return value, cur.fetchone()[0]


@pytest.mark.parametrize(
    ("charset", "encoding", "names", "default", "comment"),
    [
        ("gbk", "gbk", "gbk", "中文", "表的注释"),
        ("auto", "gb18030", "gb18030", "中文", "不是UTF-8"),  # auto: not UTF-8, so GB18030
        ("gb18030", "gb18030", "binary", "𠀀", "四字节"),
        ("latin1", "cp1252", "latin1", "café", "€uro"),
    ],
)
def test_schema_files_are_decoded_from_their_character_set(db_server, tmp_path, fresh_db, charset, encoding,
                                                           names, default, comment):
    schema = SCHEMA.format(names=names, default=default, comment=comment).encode(encoding)
    cfg = task_config(db_server, _dump(tmp_path, schema), fresh_db, source_db="src",
                      mydumper={"character-set": charset})
    run_import(cfg)
    assert _row_and_comment(db_server, fresh_db) == (default, comment)


def test_a_schema_file_that_fits_no_character_set_stops_the_import(db_server, tmp_path, fresh_db):
    schema = SCHEMA.format(names="utf8mb4", default="x", comment="ok").encode() + b"-- \xff\xff\xff\n"
    cfg = task_config(db_server, _dump(tmp_path, schema), fresh_db, source_db="src",
                      mydumper={"character-set": "auto"})
    with pytest.raises(SourceError) as failed:
        run_import(cfg)
    assert failed.value.path == "src.t-schema.sql" and failed.value.offset == len(schema) - 4
    assert "invalid schema encoding" in str(failed.value)


def test_binary_sends_the_bytes_under_the_files_own_set_names(db_server, tmp_path, fresh_db):
    """tidb-lightning's ``binary`` leaves the bytes alone: here the server reads them under the file's SET NAMES."""
    schema = SCHEMA.format(names="gbk", default="中文", comment="注释").encode("gbk")
    cfg = task_config(db_server, _dump(tmp_path, schema), fresh_db, source_db="src",
                      mydumper={"character-set": "binary"})
    run_import(cfg)
    assert _row_and_comment(db_server, fresh_db) == ("中文", "注释")


def test_refresh_swap_creates_its_shadow_tables_from_the_decoded_schema(db_server, tmp_path, fresh_db):
    # latin1, which the default (auto) would read as GB18030 and refuse: the task's character set is used
    schema = SCHEMA.format(names="latin1", default="café", comment="€ shadow").encode("cp1252")
    cfg = task_config(db_server, _dump(tmp_path, schema), fresh_db, source_db="src",
                      mydumper={"character-set": "latin1"}, refresh={"mode": "swap"})
    run_import(cfg)
    assert _row_and_comment(db_server, fresh_db) == ("café", "€ shadow")

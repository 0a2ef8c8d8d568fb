"""``data-character-set`` with ``data-invalid-char-replace`` on real imports of CSV data: decoded to UTF-8 as
tidb-lightning decodes it, each undecodable byte sequence replaced instead of failing the row."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config


def _dump(tmp_path, data: bytes):
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(
        "CREATE TABLE `t` (`编号` INT PRIMARY KEY, `名字` VARCHAR(16)) DEFAULT CHARSET = utf8mb4;\n")
    (tmp_path / "src.t.1.csv").write_bytes(data)
    return tmp_path


def _rows(db_server, db):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT `编号`, `名字` FROM `{db}`.t ORDER BY 1")
        return cur.fetchall()


@pytest.mark.parametrize(
    ("charset", "header", "data", "replacement", "expected"),
    [
        # the header is decoded too: its Chinese column names match the table's
        ("gbk", True, "编号,名字\n1,中文\n2,\"甲,乙\"\n".encode("gbk") + b"3,a\x80b\n", "?",
         ((1, "中文"), (2, "甲,乙"), (3, "a?b"))),
        ("gb18030", True, "编号,名字\n1,𠀀\n".encode("gb18030") + b"2,\xff\n", "\ufffd",
         ((1, "𠀀"), (2, "\ufffd"))),
        ("latin1", False, "1,café €\n2,\"x\"\n".encode("cp1252"), "\ufffd", ((1, "café €"), (2, "x"))),
    ],
)
def test_csv_data_is_decoded_with_the_replacement(db_server, tmp_path, fresh_db, charset, header, data,
                                                  replacement, expected):
    cfg = task_config(db_server, _dump(tmp_path, data), fresh_db, source_db="src",
                      mydumper={"data-character-set": charset, "data-invalid-char-replace": replacement,
                                "csv": {"header": header}})
    run_import(cfg)
    assert _rows(db_server, fresh_db) == expected


def test_a_decoded_file_is_one_chunk_even_with_strict_format(db_server, tmp_path, fresh_db):
    """Positions are offsets in the decoded text, so the file is not cut at byte offsets of the source."""
    rows = "".join(f"{i},行{i}\n" for i in range(1, 2001))
    cfg = task_config(db_server, _dump(tmp_path, ("编号,名字\n" + rows).encode("gbk")), fresh_db, source_db="src",
                      mydumper={"data-character-set": "gbk", "strict-format": True, "max-region-size": 4096,
                                "csv": {"terminator": "\n"}})
    summary = run_import(cfg)
    assert summary.tables[0].rows == 2000
    assert _rows(db_server, fresh_db)[-1] == (2000, "行2000")

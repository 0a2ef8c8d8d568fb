"""End-to-end imports of CSV dumps into the real test server, compared with the source."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import LightningError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from airflow_provider_tidb_lightning.lightning.mydump.discovery import discover
from airflow_provider_tidb_lightning.lightning.mydump.region import split_chunks
from tests.support.db_checks import TPCH_COUNTS, database_checksums, table_checksum
from tests.support.engine_helpers import task_config

TBL_CSV = {"separator": "|", "delimiter": "", "header": False, "trim-last-separator": True}
TBL_RULE = {"pattern": r"(?i)^(\w+)\.tbl$", "schema": "tpch", "table": "$1", "type": "csv"}



def test_tbl_files_as_csv_equal_the_sql_dump(db_server, sample_dir, tmp_path, fresh_db, reference_db):
    for path in (sample_dir / "mydumper-sql").iterdir():
        if path.name.endswith(("-schema.sql", "-schema-create.sql")):
            shutil.copy(path, tmp_path / path.name)
    for path in (sample_dir / "tbl").glob("*.tbl"):
        shutil.copy(path, tmp_path / path.name)
    cfg = task_config(db_server, tmp_path, fresh_db, mydumper={"csv": TBL_CSV, "files": [TBL_RULE]},
                      tikv_importer={"on-duplicate": "error"})
    summary = run_import(cfg)
    assert {t.table.split("`.`")[1].rstrip("`"): t.rows for t in summary.tables} == TPCH_COUNTS
    with db_server.connect() as conn:
        assert database_checksums(conn, fresh_db) == database_checksums(conn, reference_db)


def _csv_dump(tmp_path: Path, schema: str, files: dict[str, bytes]) -> Path:
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(schema)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def _select(db_server, sql: str) -> tuple:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_header_permutes_and_selects_columns(db_server, tmp_path, fresh_db):
    schema = ("CREATE TABLE `t` (`id` INT PRIMARY KEY, `name` VARCHAR(20), `qty` INT DEFAULT 7,"
              " `note` VARCHAR(10) DEFAULT 'dflt', `created` DATE);\n")
    data = b'note,ID,name\n"n1",1,"one"\n,2,two\n\\N,3,"th,ree"\n'
    dump = _csv_dump(tmp_path, schema, {"src.t.csv": data})
    summary = run_import(task_config(db_server, dump, fresh_db, source_db="src"))
    assert summary.tables[0].rows == 3
    assert _select(db_server, f"SELECT id, name, qty, note, created FROM `{fresh_db}`.t ORDER BY id") == (
        (1, "one", 7, "n1", None),
        (2, "two", 7, "", None),
        (3, "th,ree", 7, None, None),
    )


def test_awkward_values_round_trip(db_server, tmp_path, fresh_db):
    schema = ("CREATE TABLE `t` (`id` INT PRIMARY KEY, `s` VARCHAR(100), `b` VARBINARY(16), `bits` BIT(8),"
              " `d` DECIMAL(65,30), `e` VARCHAR(20)) DEFAULT CHARSET=utf8mb4;\n")
    big = "12345678901234567890123456789012345.123456789012345678901234567890"
    rows = [
        b'1,"a,b","plain","5","' + big.encode() + b'","\xf0\x9f\x98\x80"',
        b'2,"line1\nline2\r\nline3","\x00\xff\x80\'\\\\","255","-0.000000000000000000000000000001","caf\xc3\xa9"',
        b'3,"say ""hi"", it\'s","","0","0","\\N"',
        b"4,tab\\there\\\\back\\nnl,\\N,\\N,\\N,",
        b'5,"",x\\0y,\x07,1e3,"\\""',
        b"6,'sq',\\Z,b'101',.5,NULL",
    ]
    data = b"id,s,b,bits,d,e\n" + b"\r\n".join(rows) + b"\r\n"
    dump = _csv_dump(tmp_path, schema, {"src.t.000000001.csv": data})
    run_import(task_config(db_server, dump, fresh_db, source_db="src", tikv_importer={"on-duplicate": "error"}))
    got = _select(db_server, f"SELECT id, s, b, bits + 0, CAST(d AS CHAR), e FROM `{fresh_db}`.t ORDER BY id")
    assert got == (
        (1, "a,b", b"plain", 5, big, "\U0001f600"),
        (2, "line1\nline2\r\nline3", b"\x00\xff\x80'\\", 255, "-0." + "0" * 29 + "1", "caf\u00e9"),
        (3, "say \"hi\", it's", b"", 0, "0." + "0" * 30, None),
        (4, "tab\there\\back\nnl", None, None, None, ""),
        (5, "", b"x\x00y", 7, "1000." + "0" * 30, '"'),
        (6, "'sq'", b"\x1a", 5, "0.5" + "0" * 29, "NULL"),
    )


def test_strict_format_chunks_lose_and_repeat_nothing(db_server, tmp_path, fresh_db):
    schema = "CREATE TABLE `t` (`id` INT, `v` VARCHAR(40), `q` VARCHAR(40));\n"  # no key: duplicates would show
    lines = [f'{i},"value {i}, quoted","{"x" * (i % 17)}"\r\n'.encode() for i in range(1, 3001)]
    dump = _csv_dump(tmp_path, schema, {"src.t.csv": b"".join(lines)})
    csv = {"header": False, "terminator": "\r\n"}
    cfg = task_config(db_server, dump, fresh_db, source_db="src",
                      mydumper={"csv": csv, "strict-format": True, "max-region-size": 7000})
    layout = discover(cfg.mydumper, cfg.routes)
    data_file = layout.tables[0].data_files[0]
    chunks = split_chunks(data_file, cfg.mydumper)
    assert len(chunks) > 10
    starts = {0} | {sum(map(len, lines[:i])) for i in range(len(lines))}
    assert all(c.start in starts for c in chunks)  # every cut is a line start
    summary = run_import(cfg)
    assert summary.tables[0].rows == 3000
    got = _select(db_server, f"SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id), SUM(id),"
                             f" SUM(v = CONCAT('value ', id, ', quoted')), SUM(CHAR_LENGTH(q) = id % 17)"
                             f" FROM `{fresh_db}`.t")
    assert tuple(map(int, got[0])) == (3000, 3000, 1, 3000, 3000 * 3001 // 2, 3000, 3000)


@pytest.mark.parametrize("header", [True, False])
def test_wrong_field_count_names_file_and_offset(db_server, tmp_path, fresh_db, header):
    schema = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8));\n"
    head = b"id,v\n" if header else b""
    good = b'1,"a"\n2,"b"\n'
    data = head + good + b'3,"c",extra\n4,"d"\n'
    dump = _csv_dump(tmp_path, schema, {"src.t.csv": data})
    cfg = task_config(db_server, dump, fresh_db, source_db="src", mydumper={"csv": {"header": header}})
    with pytest.raises(LightningError) as info:
        run_import(cfg)
    assert f"src.t.csv at byte offset {len(head) + len(good)}" in str(info.value)
    assert "expected 2 fields, found 3" in str(info.value)
    assert _select(db_server, f"SELECT COUNT(*) FROM `{fresh_db}`.t") == ((0,),)  # the batch never went out


def test_gzip_csv_equals_plain(db_server, sample_dir, tmp_path, make_database, reference_db):
    for path in (sample_dir / "mydumper-sql").iterdir():
        if path.name.endswith(("-schema.sql", "-schema-create.sql")):
            shutil.copy(path, tmp_path / path.name)
    for table in ("orders", "nation"):
        data = (sample_dir / "tbl" / f"{table}.tbl").read_bytes()
        quoted = b"".join(b'"' + line[:-1].replace(b"|", b'","') + b'"\r\n' for line in data.splitlines())
        (tmp_path / f"tpch.{table}.000000001.csv.gz").write_bytes(gzip.compress(quoted))
    target = make_database("gz")
    cfg = task_config(db_server, tmp_path, target, mydumper={"csv": {"header": False},
                                                             "filter": ["tpch.orders", "tpch.nation"]})
    summary = run_import(cfg)
    assert sorted(t.rows for t in summary.tables) == [25, 15000]
    with db_server.connect() as conn:
        for table in ("orders", "nation"):
            assert table_checksum(conn, target, table) == table_checksum(conn, reference_db, table)

"""``logical-import-method = "load-data"`` against the real server: the same data as INSERT, bad rows
still recorded with file and offset, warnings redone as INSERT, exactly-once across a crash, and a
clear error where the server refuses LOCAL INFILE."""

from __future__ import annotations

import shutil
import signal
from datetime import date
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import ImportFailed
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import (
    assert_exact,
    assert_resumes_exactly_once,
)
from tests.support.cli_task import TABLES, run_cli, write_task
from tests.support.db_checks import TPCH_COUNTS, database_checksums, select_all, server_status
from tests.support.engine_helpers import task_config

TBL_CSV = {"separator": "|", "delimiter": "", "header": False, "trim-last-separator": True}
LOAD_DATA = {"logical-import-method": "load-data"}


def _tbl_dump(sample_dir: Path, tmp_path: Path, tables: tuple[str, ...] = tuple(TPCH_COUNTS)) -> Path:
    """The sample's schema files and its ``.tbl`` files, named so the default file rules read them as CSV."""
    dump = tmp_path / "tbl-dump"
    dump.mkdir()
    shutil.copy(sample_dir / "mydumper-sql" / "tpch-schema-create.sql", dump)
    for table in tables:
        shutil.copy(sample_dir / "mydumper-sql" / f"tpch.{table}-schema.sql", dump)
        shutil.copy(sample_dir / "tbl" / f"{table}.tbl", dump / f"tpch.{table}.000000001.csv")
    return dump


def _csv_dump(tmp_path: Path, schema: str, data: bytes) -> Path:
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(schema)
    (tmp_path / "src.t.000000001.csv").write_bytes(data)
    return tmp_path


def test_load_data_import_equals_the_insert_import(db_server, sample_dir, tmp_path, make_database, reference_db):
    dump = _tbl_dump(sample_dir, tmp_path)
    loaded, inserted = make_database("ld"), make_database("ins")
    statements = server_status(db_server, "Com_load")
    summary = run_import(task_config(db_server, dump, loaded, mydumper={"csv": TBL_CSV},
                                     tikv_importer={"on-duplicate": "error", **LOAD_DATA}))
    assert server_status(db_server, "Com_load") - statements >= len(TPCH_COUNTS)  # the rows did go as LOAD DATA
    assert {t.table.split("`.`")[1].rstrip("`"): t.rows for t in summary.tables} == TPCH_COUNTS
    assert all(t.skipped_rows == 0 and t.conflicts == 0 for t in summary.tables)
    run_import(task_config(db_server, dump, inserted, mydumper={"csv": TBL_CSV},
                           tikv_importer={"on-duplicate": "error"}))
    with db_server.connect() as conn:
        ours = database_checksums(conn, loaded)
        assert ours == database_checksums(conn, inserted)
        assert ours == database_checksums(conn, reference_db)


def test_awkward_quoted_values_arrive_as_with_insert(db_server, tmp_path, make_database):
    """Quoted fields with separators, line breaks, doubled quotes, escapes, NULL texts and raw bytes; many
    plain records too, so the reader's fast paths write part of the stream."""
    schema = ("CREATE TABLE `t` (`id` INT PRIMARY KEY, `s` VARCHAR(100), `b` VARBINARY(16), `d` DECIMAL(65,30),"
              " `e` VARCHAR(20)) DEFAULT CHARSET=utf8mb4;\n")
    rows = [
        b'1,"a,b","plain","12.5","\xf0\x9f\x98\x80"',
        b'2,"line1\nline2\r\nline3","\x00\xff\x80\'\\\\","-0.000000000000000000000000000001","caf\xc3\xa9"',
        b'3,"say ""hi"", it\'s","","0","\\N"',
        b"4,tab\\there\\\\back\\nnl,\\N,\\N,",
        b'5,"",x\\0y,1e3,"\\""',
        b"6,'sq',\\Z,.5,NULL",
        b'7,"|pipe\\\\N",\\\\N,1,"\\N"',
    ]
    rows += [b'%d,"v%d, quoted","q",%d.25,"x"' % (i, i, i) for i in range(8, 400)]
    rows += [b"%d,plain %d,,%d,\\N" % (i, i, i) for i in range(400, 800)]
    dump = _csv_dump(tmp_path, schema, b"id,s,b,d,e\r\n" + b"\r\n".join(rows) + b"\r\n")
    query = "SELECT id, s, b, CAST(d AS CHAR), e FROM `{}`.t ORDER BY id"
    results = []
    for method in ("load-data", "insert"):
        db = make_database(method.replace("-", "_"))
        run_import(task_config(db_server, dump, db, source_db="src",
                               tikv_importer={"on-duplicate": "error", "logical-import-method": method}))
        results.append(select_all(db_server, query.format(db)))
    assert len(results[0]) == 799
    assert results[0] == results[1]
    assert results[0][1][1] == "line1\nline2\r\nline3" and results[0][6][1:3] == ("|pipe\\N", b"\\N")


@pytest.mark.parametrize("checkpoint", ["mysql", "file", "off"])
def test_bad_rows_of_a_load_data_batch_are_recorded_with_file_and_offset(db_server, tmp_path, fresh_db, checkpoint):
    """With every checkpoint store: the file store and no checkpoint use autocommit connections, where
    the batch gets its own transaction so that a batch with warnings can still be rolled back."""
    schema = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8), `d` DATE);\n"
    lines = [b"1|ok|2020-01-01\n", b"2|far too long|2020-01-02\n", b"x|ok|2020-01-03\n", b"4|ok|2021-03-04\n",
             b"5|ok|2020-02-30\n", b"6|ok|\\N\n"]
    dump = _csv_dump(tmp_path, schema, b"".join(lines))
    stores = {"mysql": {}, "file": {"driver": "file", "dsn": str(tmp_path / "checkpoint.json")},
              "off": {"enable": False}}
    cfg = task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": 3},
                      checkpoint=stores[checkpoint],
                      mydumper={"csv": {"separator": "|", "delimiter": "", "header": False}},
                      tikv_importer={"on-duplicate": "error", **LOAD_DATA})
    statements, inserts = server_status(db_server, "Com_load"), server_status(db_server, "Com_insert")
    summary = run_import(cfg)
    assert server_status(db_server, "Com_load") > statements  # sent as LOAD DATA first,
    assert server_status(db_server, "Com_insert") - inserts >= len(lines)  # then row by row, as INSERT
    assert summary.tables[0].rows == 3 and summary.tables[0].skipped_rows == 3
    assert select_all(db_server, f"SELECT id, v, d FROM `{fresh_db}`.t ORDER BY id") == (
        (1, "ok", date(2020, 1, 1)), (4, "ok", date(2021, 3, 4)),
        (6, "ok", None))
    records = select_all(db_server, f"SELECT `path`, `offset`, `error` FROM `{fresh_db}_info`.type_error_v1"
                                 " ORDER BY `offset`")
    offsets = [sum(map(len, lines[:i])) for i in (1, 2, 4)]
    assert [(r[0], r[1]) for r in records] == [("src.t.000000001.csv", o) for o in offsets]
    assert ["1406" in records[0][2], "1366" in records[1][2], "1292" in records[2][2]] == [True] * 3


def test_duplicates_with_on_duplicate_error_fail_as_with_insert(db_server, tmp_path, fresh_db):
    """LOCAL turns a duplicate into a warning and skips the row: the batch goes again as INSERT, which fails."""
    schema = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8));\n"
    data = b"1|a\n2|b\n3|c\n"
    dump = _csv_dump(tmp_path, schema, data)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{fresh_db}`.t (id INT PRIMARY KEY, v VARCHAR(8))")
        cur.execute(f"INSERT INTO `{fresh_db}`.t VALUES (2, 'old')")
    cfg = task_config(db_server, dump, fresh_db, source_db="src",
                      mydumper={"csv": {"separator": "|", "delimiter": "", "header": False}},
                      tikv_importer={"on-duplicate": "error", **LOAD_DATA})
    with pytest.raises(ImportFailed) as info:
        run_import(cfg)
    assert "src.t.000000001.csv at byte offset 4" in str(info.value) and "Duplicate entry" in str(info.value)
    assert select_all(db_server, f"SELECT id, v FROM `{fresh_db}`.t ORDER BY id") == ((2, "old"),)


@pytest.mark.parametrize(("mode", "expected"), [("ignore", ((1, "a"), (2, "old"), (3, "c"))),
                                                ("replace", ((1, "a"), (2, "b"), (3, "c")))])
def test_ignore_and_replace_count_conflicts_in_one_statement(db_server, tmp_path, fresh_db, mode, expected):
    schema = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8));\n"
    dump = _csv_dump(tmp_path, schema, b"1|a\n2|b\n3|c\n")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{fresh_db}`.t (id INT PRIMARY KEY, v VARCHAR(8))")
        cur.execute(f"INSERT INTO `{fresh_db}`.t VALUES (2, 'old')")
    cfg = task_config(db_server, dump, fresh_db, source_db="src",
                      mydumper={"csv": {"separator": "|", "delimiter": "", "header": False}},
                      tikv_importer={"on-duplicate": mode, **LOAD_DATA})
    statements = server_status(db_server, "Com_load")
    summary = run_import(cfg)
    assert server_status(db_server, "Com_load") == statements + 1
    table = summary.tables[0]
    assert (table.rows, table.conflicts, table.skipped_rows) == (3 if mode == "replace" else 2, 1, 0)
    assert select_all(db_server, f"SELECT id, v FROM `{fresh_db}`.t ORDER BY id") == expected


@pytest.mark.parametrize("point", ["batch-sent:4", "batch-committed:6"])
def test_a_crash_mid_load_data_resumes_exactly_once(db_server, target, reference_db, sample_dir, tmp_path, point):
    dump = _tbl_dump(sample_dir, tmp_path, TABLES)
    task = write_task(tmp_path / "task.toml", db_server, target, dump, mode="error",
                      tikv_importer=LOAD_DATA, **{"mydumper.csv": TBL_CSV})
    task_id = "load-data-" + point.replace(":", "-")
    killed = run_cli(task, task_id=task_id, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, f"exit {killed.returncode}\n{killed.stderr[-3000:]}"
    assert_resumes_exactly_once(db_server, task, task_id, target, reference_db)


def test_a_lost_connection_during_load_data_is_retried(db_server, sample_dir, tmp_path, fresh_db, reference_db,
                                                      monkeypatch):
    from airflow_provider_tidb_lightning.lightning.common import failpoint

    dump = _tbl_dump(sample_dir, tmp_path, ("nation", "orders"))
    monkeypatch.setattr(failpoint, "_counts", {})
    monkeypatch.setenv("TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT", "batch-sent:3")
    summary = run_import(task_config(db_server, dump, fresh_db, mydumper={"csv": TBL_CSV},
                                     lightning={"region-concurrency": 1},
                                     tikv_importer={"on-duplicate": "error", "logical-import-batch-size": "64KiB",
                                                    **LOAD_DATA}))
    assert failpoint._counts["batch-sent"] > 3
    assert sorted(t.rows for t in summary.tables) == [25, 15000]
    with db_server.connect() as conn:
        assert_exact(conn, fresh_db, reference_db, ("nation", "orders"))


def test_a_server_with_local_infile_off_gets_a_clear_error(db_server, sample_dir, tmp_path, fresh_db):
    dump = _tbl_dump(sample_dir, tmp_path, ("nation",))
    cfg = task_config(db_server, dump, fresh_db, mydumper={"csv": TBL_CSV}, tikv_importer=LOAD_DATA)
    (before,) = select_all(db_server, "SELECT @@GLOBAL.local_infile")[0]
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL local_infile = 0")
    try:
        with pytest.raises(ImportFailed) as info:
            run_import(cfg)
    finally:
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL local_infile = %s", (int(before),))
    message = str(info.value)
    assert f"the server at {db_server.host}:{db_server.port} refuses LOAD DATA LOCAL INFILE" in message
    assert "local_infile" in message and 'logical-import-method = "insert"' in message
    assert select_all(db_server, f"SELECT COUNT(*) FROM `{fresh_db}`.nation") == ((0,),)

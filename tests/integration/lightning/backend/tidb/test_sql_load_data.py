"""``logical-import-method = "load-data"`` for SQL dumps against the real server: fast-path batches go as
LOAD DATA streams of the dump's own bytes and give the rows INSERT gives; batches the server does not
take whole are redone as INSERT (bad rows recorded with file and offset); exactly-once across a crash."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import ImportFailed
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import (
    assert_resumes_exactly_once,
)
from tests.support.cli_task import run_cli, write_task
from tests.support.db_checks import TPCH_COUNTS, database_checksums, select_all, server_status
from tests.support.engine_helpers import task_config

LOAD_DATA = {"logical-import-method": "load-data"}


def _sql_dump(tmp_path: Path, schema: str, data: bytes) -> Path:
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(schema)
    (tmp_path / "src.t.000000001.sql").write_bytes(data)
    return tmp_path


def _import_both_ways(db_server, make_database, dump: Path, query: str, **importer) -> tuple[list, list[int]]:
    """Import ``dump`` with load-data and with insert (``importer``: more [tikv-importer] settings); the rows
    ``query`` (``{}`` = database) selects, and the LOAD DATA statements each import sent."""
    results, loads = [], []
    for method in ("load-data", "insert"):
        db = make_database(method.replace("-", "_"))
        before = server_status(db_server, "Com_load")
        run_import(task_config(db_server, dump, db, source_db="src",
                               tikv_importer={"on-duplicate": "error", "logical-import-method": method, **importer}))
        loads.append(server_status(db_server, "Com_load") - before)
        results.append(list(select_all(db_server, query.format(db))))
    return results, loads


def test_sql_import_with_load_data_equals_the_insert_import(db_server, sample_dir, tmp_path, make_database,
                                                            reference_db):
    dump = sample_dir / "mydumper-sql"
    loaded, inserted = make_database("sld"), make_database("sins")
    loads, inserts = server_status(db_server, "Com_load"), server_status(db_server, "Com_insert")
    same_batches = {"logical-import-batch-size": "96KiB"}  # INSERT's default: one LOAD DATA per INSERT batch
    summary = run_import(task_config(db_server, dump, loaded, tikv_importer={"on-duplicate": "error", **LOAD_DATA,
                                                                             **same_batches}))
    loads, inserts = server_status(db_server, "Com_load") - loads, server_status(db_server, "Com_insert") - inserts
    assert {t.table.split("`.`")[1].rstrip("`"): t.rows for t in summary.tables} == TPCH_COUNTS
    assert all(t.skipped_rows == 0 and t.conflicts == 0 for t in summary.tables)
    before = server_status(db_server, "Com_insert")
    run_import(task_config(db_server, dump, inserted, tikv_importer={"on-duplicate": "error"}))
    statements = server_status(db_server, "Com_insert") - before  # one per batch, plus the same bookkeeping
    # Each batch went once, and nearly all as LOAD DATA (the INSERT statements left hold the bookkeeping).
    assert loads + inserts == statements and loads >= 0.9 * statements
    with db_server.connect() as conn:
        ours = database_checksums(conn, loaded)
        assert ours == database_checksums(conn, inserted)
        assert ours == database_checksums(conn, reference_db)


def test_edge_values_arrive_as_with_insert(db_server, tmp_path, make_database):
    """NULL against 'NULL', empty strings, doubled quotes, separators and parentheses inside strings,
    negative and exponent numbers; numbers in columns where LOAD DATA would read them otherwise than
    INSERT (VARCHAR, YEAR) make their batch go as INSERT."""
    schema = ("CREATE TABLE `t` (`id` INT PRIMARY KEY, `s` VARCHAR(40), `d` DECIMAL(30,10), `f` DOUBLE, "
              "`y` YEAR NULL, `n` INT NULL) DEFAULT CHARSET=utf8mb4;\n")
    proved = [
        b"(1,NULL,-1.5,-1.5e-3,NULL,-7)",
        b"(2,'NULL',0.0000000001,1e308,'1999',NULL)",
        b"(3,'',-0,.5,NULL,-0)",
        b"(4,'it''s ''quoted''',007.50,-0.0,'0',123456789)",
        b"(5,'a,b,\t c',1.,1E5,NULL,0)",
        b"(6,'''',123456789012345678.12,2.5e-300,'2155',-2147483648)",
        b"(7,'caf\xc3\xa9 \xf0\x9f\x98\x80',12,3,NULL,2147483647)",
    ]
    numbers_elsewhere = [b"(8,1e5,1,1,NULL,1)", b"(9,'x',1,1,0,1)", b"(10,'x',1e5,1,NULL,1e2)"]
    body = (b"INSERT INTO `t` VALUES\n" + b",\n".join(proved) + b";\n"
            + b"".join(b"INSERT INTO `t` VALUES\n" + row + b";\n" for row in numbers_elsewhere)
            + b"INSERT INTO `t` (`n`,`id`,`s`) VALUES\n(5,11,'cols'),\n(NULL,12,'');\n")
    dump = _sql_dump(tmp_path, schema, b"/*!40101 SET NAMES binary*/;\n" + body)
    query = "SELECT id, s, CAST(d AS CHAR), CAST(f AS CHAR), y, n FROM `{}`.t ORDER BY id"
    results, loads = _import_both_ways(db_server, make_database, dump, query, **{"logical-import-batch-size": "200B"})
    assert results[0] == results[1]
    assert loads[1] == 0 and loads[0] >= 2  # the proved rows and the column-list statement went as LOAD DATA
    rows = {r[0]: r for r in results[0]}
    assert rows[1][1] is None and rows[2][1] == "NULL" and rows[3][1] == ""
    assert rows[4][1] == "it's 'quoted'" and rows[5][1] == "a,b,\t c" and rows[6][1] == "'"
    assert rows[7][1] == "café 😀"
    assert rows[8][1] == "100000" and rows[9][4] == 0 and rows[10][2] == "100000.0000000000"  # read as INSERT reads
    assert rows[11][1:] == ("cols", None, None, None, 5) and rows[12][5] is None


def test_binary_strings_under_set_names_binary(db_server, tmp_path, make_database):
    schema = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `b` VARBINARY(16), `s` VARCHAR(16)) DEFAULT CHARSET=utf8mb4;\n"
    rows = [b"(%d,'\x00\xff\x80\xc3\x7e%c\t\r\x1a','\xce\xbb%d')" % (i, 0x41 + i % 26, i) for i in range(1, 60)]
    dump = _sql_dump(tmp_path, schema, b"/*!40101 SET NAMES binary*/;\nINSERT INTO `t` VALUES\n"
                     + b",\n".join(rows) + b";\n")
    results, loads = _import_both_ways(db_server, make_database, dump, "SELECT id, b, s FROM `{}`.t ORDER BY id")
    assert loads == [1, 0]
    assert results[0] == results[1] and len(results[0]) == 59
    assert results[0][0] == (1, b"\x00\xff\x80\xc3~B\t\r\x1a", "\u03bb1")


@pytest.mark.parametrize("checkpoint", ["mysql", "off"])
def test_rows_the_server_warns_about_are_redone_as_insert(db_server, tmp_path, fresh_db, checkpoint):
    """LOAD DATA truncates a long string and stores 0 for a NULL in a NOT NULL column with a warning: the batch
    is rolled back and redone as INSERT, where strict mode makes them bad rows recorded with file and offset."""
    schema = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(4) CHARACTER SET utf8mb4, `n` INT NOT NULL);\n"
    rows = [b"(1,'ok',1)", b"(2,'far too long',2)", b"(3,'ok',NULL)", b"(4,'\xff',4)", b"(5,'ok',5)"]
    head = b"/*!40101 SET NAMES binary*/;\nINSERT INTO `t` VALUES\n"
    dump = _sql_dump(tmp_path, schema, head + b",\n".join(rows) + b";\n")
    stores = {"mysql": {}, "off": {"enable": False}}
    cfg = task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": 3},
                      checkpoint=stores[checkpoint], tikv_importer={"on-duplicate": "error", **LOAD_DATA})
    loads, inserts = server_status(db_server, "Com_load"), server_status(db_server, "Com_insert")
    summary = run_import(cfg)
    assert server_status(db_server, "Com_load") == loads + 1  # sent as LOAD DATA first,
    assert server_status(db_server, "Com_insert") - inserts >= len(rows)  # then row by row, as INSERT
    assert (summary.tables[0].rows, summary.tables[0].skipped_rows) == (2, 3)
    assert select_all(db_server, f"SELECT id, v, n FROM `{fresh_db}`.t ORDER BY id") == ((1, "ok", 1), (5, "ok", 5))
    records = select_all(db_server, f"SELECT `path`, `offset`, `error` FROM `{fresh_db}_info`.type_error_v1"
                                 " ORDER BY `offset`")
    offsets = [len(head) + sum(len(r) + 2 for r in rows[:i]) for i in (1, 2, 3)]
    assert [(r[0], r[1]) for r in records] == [("src.t.000000001.sql", o) for o in offsets]
    assert ["1406" in records[0][2], "1048" in records[1][2], "1366" in records[2][2]] == [True] * 3


@pytest.mark.parametrize("point", ["batch-sent:4", "batch-committed:6"])
def test_a_crash_mid_sql_load_data_resumes_exactly_once(db_server, target, reference_db, sample_dir, tmp_path,
                                                        point):
    task = write_task(tmp_path / "task.toml", db_server, target, sample_dir / "mydumper-sql", mode="error",
                      tikv_importer=LOAD_DATA)
    task_id = "sql-load-data-" + point.replace(":", "-")
    loads = server_status(db_server, "Com_load")
    killed = run_cli(task, task_id=task_id, kill_at=point)
    assert killed.returncode == -signal.SIGKILL, f"exit {killed.returncode}\n{killed.stderr[-3000:]}"
    assert server_status(db_server, "Com_load") > loads  # the batch in flight was a LOAD DATA stream
    assert_resumes_exactly_once(db_server, task, task_id, target, reference_db)


_THREE_ROWS = b"INSERT INTO `t` VALUES\n(1,'a'),\n(2,'b'),\n(3,'c');\n"


def _with_old_row(db_server, tmp_path: Path, db: str) -> Path:
    dump = _sql_dump(tmp_path, "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8));\n", _THREE_ROWS)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{db}`.t (id INT PRIMARY KEY, v VARCHAR(8))")
        cur.execute(f"INSERT INTO `{db}`.t VALUES (2, 'old')")
    return dump


@pytest.mark.parametrize(("mode", "expected"), [("ignore", ((1, "a"), (2, "old"), (3, "c"))),
                                                ("replace", ((1, "a"), (2, "b"), (3, "c")))])
def test_ignore_and_replace_count_conflicts_in_one_stream(db_server, tmp_path, fresh_db, mode, expected):
    dump = _with_old_row(db_server, tmp_path, fresh_db)
    loads = server_status(db_server, "Com_load")
    summary = run_import(task_config(db_server, dump, fresh_db, source_db="src",
                                     tikv_importer={"on-duplicate": mode, **LOAD_DATA}))
    assert server_status(db_server, "Com_load") == loads + 1
    table = summary.tables[0]
    assert (table.rows, table.conflicts, table.skipped_rows) == (3 if mode == "replace" else 2, 1, 0)
    assert select_all(db_server, f"SELECT id, v FROM `{fresh_db}`.t ORDER BY id") == expected


def test_a_duplicate_with_on_duplicate_error_fails_at_its_offset(db_server, tmp_path, fresh_db):
    """LOCAL skips a duplicate with a warning: the batch goes again as INSERT, which fails at the row."""
    dump = _with_old_row(db_server, tmp_path, fresh_db)
    with pytest.raises(ImportFailed) as info:
        run_import(task_config(db_server, dump, fresh_db, source_db="src",
                               tikv_importer={"on-duplicate": "error", **LOAD_DATA}))
    offset = _THREE_ROWS.index(b"(2,")
    assert f"src.t.000000001.sql at byte offset {offset}" in str(info.value) and "Duplicate entry" in str(info.value)
    assert select_all(db_server, f"SELECT id, v FROM `{fresh_db}`.t ORDER BY id") == ((2, "old"),)

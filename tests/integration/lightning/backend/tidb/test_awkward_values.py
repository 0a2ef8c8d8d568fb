"""Awkward values through real mydumper dumps: the engine must load exactly what the mariadb client loads.

One source database holds every kind of value that tends to break a dump/load round trip
(quotes, backslashes, NUL and control bytes, 4-byte UTF-8, non-UTF-8 bytes, BIT, DECIMAL(65,30),
float edges, zero and extreme dates, negative TIME, JSON, ENUM/SET, NULL next to '', a 1 MB text,
names that need quoting, a composite key with generated and default columns). Debian's mydumper
dumps it three ways; each dump is imported by the engine and executed by the client into fresh
databases, and both are compared with each other and with the source: column definitions,
per-column CRC32 checksums and every row's bytes in primary-key order.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

import pytest

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.db_checks import table_checksum
from tests.support.engine_helpers import task_config
from tests.support.mydumper_tool import column_definitions, dump, execute_dump, ordered_rows, quote, table_names

MAIN = "order line"  # a reserved word and a space
TICK = "tick"  # its column name holds a backtick, which mydumper's --complete-insert cannot write
PAIRS = "pairs"
LONG_TEXT = ("1 MB: it's \"quoted\" \\ back\\slash\r\n\t\x1a \U0001F600 é\n" * 24000)[: 1024 * 1024]

_MAIN_DDL = f"""CREATE TABLE {quote(MAIN)} (
  id INT NOT NULL PRIMARY KEY,
  s VARCHAR(255) NULL,
  vb VARBINARY(255) NULL,
  bl BLOB NULL,
  b1 BIT(1) NULL,
  b64 BIT(64) NULL,
  dm DECIMAL(65,30) NULL,
  f FLOAT NULL,
  d DOUBLE NULL,
  i8 TINYINT NULL,
  u64 BIGINT UNSIGNED NULL,
  i64 BIGINT NULL,
  dt DATE NULL,
  dtm DATETIME(6) NULL,
  ts TIMESTAMP(6) NULL DEFAULT NULL,
  tm TIME(6) NULL,
  yr YEAR NULL,
  j JSON NULL,
  e ENUM('a', 'b''q', 'ü', 'x,y') NULL,
  st SET('x', 'y', 'z') NULL,
  lt LONGTEXT NULL,
  `select` INT NULL,
  `col with space` VARCHAR(20) NULL
)"""
_MAIN_COLUMNS = ("id", "s", "vb", "bl", "b1", "b64", "dm", "f", "d", "i8", "u64", "i64", "dt", "dtm", "ts", "tm",
                 "yr", "j", "e", "st", "lt", "select", "col with space")
_MAIN_ROWS = [
    (1, "it's \"q\" \\ back\\slash", b"\x00\xff\x80'\"\\\x1a", bytes(range(256)), 1, 2**64 - 1,
     Decimal("99999999999999999999999999999999999.999999999999999999999999999999"), 3.40282e38,
     1.7976931348623157e308, -128, 2**64 - 1, -(2**63), "1000-01-01", "1000-01-01 00:00:00.000000",
     "1970-01-01 00:00:01.000000", "-838:59:59.000000", 1901,
     '{"a": [1, {"b": "é\\"x\\\\", "c": {"d": [null, true, 1.5e300]}}], "u": "\U0001F600\\u00e9", "n": "\\u0000\\n"}',
     "a", "x,z", LONG_TEXT, 1, "plain"),
    (2, "nul\x00cr\r\nlf\ttab\x1aZ \U0001F600\U0001D11E 4-byte", b"", b"", 0, 0,
     Decimal("-99999999999999999999999999999999999.999999999999999999999999999999"), -3.40282e38,
     -1.7976931348623157e308, 127, 0, 2**63 - 1, "9999-12-31", "9999-12-31 23:59:59.999999",
     "2038-01-19 03:14:07.999999", "838:59:59.000000", 2155, "[]", "b'q", "x,y,z", "", 0, ""),
    (3, "", b"\x00", b"\xc3\x28 not utf-8 \xf0\x28\x8c\x28", 0, 2**63, Decimal("-0.000000000000000000000000000001"),
     1.17549e-38, 5e-324, 0, 1, -1, "0000-00-00", "0000-00-00 00:00:00", "0000-00-00 00:00:00",
     "-00:00:00.000001", 0, '"\\\\N"', "ü", "", "\\N", -1, "NULL"),
    (4, "trailing backslash \\", b"\\", b"\\N", 1, 1, Decimal("0.000000000000000000000000000001"), 0.1, -0.0,
     -1, 9, 0, "2000-02-29", "2000-02-29 12:34:56.5", None, "00:00:00", 2000, "null", "x,y", "y", "'", None,
     "sp ace"),
    (5, *([None] * 22)),
]
_TICK_DDL = f"CREATE TABLE {quote(TICK)} (id INT NOT NULL PRIMARY KEY, {quote('we`ird')} VARCHAR(10) NULL)"
_PAIRS_DDL = f"""CREATE TABLE {quote(PAIRS)} (
  a INT NOT NULL,
  b VARCHAR(10) NOT NULL,
  qty INT NOT NULL DEFAULT 7,
  total INT AS (qty * 2) PERSISTENT,
  plus_one INT AS (qty + 1) VIRTUAL,
  created DATETIME NOT NULL DEFAULT '2001-02-03 04:05:06',
  note VARCHAR(20) NULL DEFAULT 'it''s',
  PRIMARY KEY (a, b)
)"""

DUMPS = {
    "default": (),
    # Column lists, several data files per table and several INSERTs per file.
    "complete-insert-chunked": ("--complete-insert", "--rows", "2", "--statement-size", "3000",
                                "--regex", rf"^[^.]+\.(?!{TICK}$)"),
    "gzip": ("--compress",),
}


def _create_source(conn, db: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"USE {quote(db)}")
        # Zero dates need a non-strict mode; the fixed zone makes the TIMESTAMPs mean the same everywhere.
        cur.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'")
        cur.execute(_MAIN_DDL)
        placeholders = ", ".join(["%s"] * len(_MAIN_COLUMNS))
        cur.executemany(f"INSERT INTO {quote(MAIN)} VALUES ({placeholders})", _MAIN_ROWS)
        cur.execute(_TICK_DDL)
        cur.execute(f"INSERT INTO {quote(TICK)} VALUES (1, 'a`b'), (2, NULL), (3, '')")
        cur.execute(_PAIRS_DDL)
        cur.execute(f"INSERT INTO {PAIRS} (a, b) VALUES (1, 'x'), (1, ''), (2, 'x')")
        cur.execute(f"INSERT INTO {PAIRS} (a, b, qty, note) VALUES (1, 'y', 3, NULL), (-1, 'é', -5, '')")


@pytest.fixture(scope="module")
def awkward_source(db_server):
    """The source database, created once for the module and dropped afterwards."""
    name = f"src_{uuid.uuid4().hex[:10]}"
    with db_server.connect() as conn:
        conn.cursor().execute(f"CREATE DATABASE {quote(name)}")
        try:
            _create_source(conn, name)
            yield name
        finally:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {quote(name)}")


def _engine_import(db_server, dump_dir, target, source_db, tmp_path, scratch, **sections):
    scratch.append(f"{target}_info")
    cfg = task_config(db_server, dump_dir, target, source_db=source_db,
                      checkpoint={"driver": "file", "dsn": str(tmp_path / f"{target}.ckpt")},
                      tikv_importer={"on-duplicate": "error"}, **sections)
    return run_import(cfg)


def test_source_holds_the_awkward_values(db_server, awkward_source):
    """Guard against a silently sanitised source: the values that matter really are in it."""
    rows = ordered_rows(db_server, awkward_source, MAIN)
    assert [r[0] for r in rows] == [b"1", b"2", b"3", b"4", b"5"]
    assert rows[1][1] == "nul\x00cr\r\nlf\ttab\x1aZ \U0001F600\U0001D11E 4-byte".encode()
    assert rows[0][3] == bytes(range(256)) and rows[2][3].startswith(b"\xc3\x28")
    assert rows[0][5] == b"\xff" * 8  # BIT(64) all ones
    assert rows[2][12:15] == (b"0000-00-00", b"0000-00-00 00:00:00.000000", b"0000-00-00 00:00:00.000000")
    assert rows[0][15] == b"-838:59:59.000000"
    assert len(rows[0][20]) > 1_000_000
    assert rows[1][20] == b"" and rows[4][20] is None  # '' and NULL stay apart
    assert all(v is None for v in rows[4][1:len(_MAIN_COLUMNS)])


@pytest.mark.parametrize("kind", list(DUMPS))
def test_mydumper_dump_imports_like_the_client(db_server, awkward_source, make_database, tmp_path,
                                               scratch_databases, kind):
    dump_dir = dump(db_server, awkward_source, tmp_path / "dump", *DUMPS[kind])
    names = sorted(p.name for p in dump_dir.iterdir())
    if kind == "gzip":
        assert all(n.endswith(".sql.gz") for n in names if n != "metadata")
    if kind == "complete-insert-chunked":
        main_files = [n for n in names if n.startswith(f"{awkward_source}.{MAIN}.")]
        assert len(main_files) >= 2, names
        assert b"INSERT INTO `order line` (`id`,`s`," in (dump_dir / main_files[0]).read_bytes()

    engine_db, client_db = make_database("eng"), make_database("cli")
    summary = _engine_import(db_server, dump_dir, engine_db, awkward_source, tmp_path, scratch_databases)
    execute_dump(db_server, client_db, dump_dir)

    expected_tables = sorted([MAIN, PAIRS] + ([] if kind == "complete-insert-chunked" else [TICK]))
    assert sorted(t.table.split("`.`")[1].rstrip("`") for t in summary.tables) == expected_tables
    assert summary.total_rows == 5 + 5 + (0 if kind == "complete-insert-chunked" else 3)
    with db_server.connect() as conn:
        assert table_names(conn, engine_db) == table_names(conn, client_db) == expected_tables
        for table in expected_tables:
            definitions = column_definitions(conn, awkward_source, table)
            assert column_definitions(conn, engine_db, table) == definitions, table
            assert column_definitions(conn, client_db, table) == definitions, table
            checksums = table_checksum(conn, engine_db, table)
            assert checksums == table_checksum(conn, client_db, table), table
            assert checksums == table_checksum(conn, awkward_source, table), table
    for table in expected_tables:
        rows = ordered_rows(db_server, engine_db, table)
        assert rows == ordered_rows(db_server, client_db, table), table
        assert rows == ordered_rows(db_server, awkward_source, table), table


@pytest.mark.skipif(bool(os.environ.get("TIDB_LIGHTNING_TEST_DSN")), reason="changes the server's global time_zone")
def test_timestamps_keep_their_instant_when_the_server_zone_is_not_utc(db_server, awkward_source, make_database,
                                                                       tmp_path, scratch_databases):
    dump_dir = dump(db_server, awkward_source, tmp_path / "dump", "--regex", rf"^[^.]+\.{MAIN}$")
    engine_db, client_db = make_database("eng"), make_database("cli")
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.time_zone")
        previous = cur.fetchone()[0]
        cur.execute("SET GLOBAL time_zone = '+05:00'")  # what every new session, the engine's too, starts with
        try:
            execute_dump(db_server, client_db, dump_dir)
            _engine_import(db_server, dump_dir, engine_db, awkward_source, tmp_path, scratch_databases)
        finally:
            cur.execute("SET GLOBAL time_zone = %s", (previous,))
    assert ordered_rows(db_server, client_db, MAIN) == ordered_rows(db_server, awkward_source, MAIN)
    assert ordered_rows(db_server, engine_db, MAIN) == ordered_rows(db_server, client_db, MAIN)

"""Random valid dumps through a real import: the target holds exactly the rows the dump holds.

The dumps are written here, independently of the project's encoder: SQL with backslash escapes
or (declaring ``NO_BACKSLASH_ESCAPES`` in the dump's ``SET SQL_MODE``) with doubled quotes, one
row per line or all on one line; CSV with quoted fields. Sessions with and without
``NO_BACKSLASH_ESCAPES`` read them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config

SCHEMA = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(40), `n` DECIMAL(12,2));\n"
TEXT = st.text(st.one_of(st.sampled_from("'\"\\\n\r\t\x00\x1a,;()`%_ "), st.characters(codec="utf-8")), max_size=12)
NUMBER = st.one_of(st.none(), st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))
ROWS = st.lists(st.tuples(TEXT, NUMBER), min_size=1, max_size=30)
IMPORTS = settings(max_examples=5, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NBE_SESSION = {"sql-mode": "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES"}


def sql_string(text: str, no_backslash_escapes: bool) -> bytes:
    raw = text.encode()
    if no_backslash_escapes:
        return b"'" + raw.replace(b"'", b"''") + b"'"
    for plain, escaped in ((b"\\", b"\\\\"), (b"'", b"\\'"), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\x00", b"\\0"),
                           (b"\x1a", b"\\Z")):
        raw = raw.replace(plain, escaped)
    return b"'" + raw + b"'"


def sql_dump(rows: list[tuple[str, Decimal | None]], dump_nbe: bool, per_line: bool) -> bytes:
    head = b"/*!40101 SET NAMES binary*/;\n"
    if dump_nbe:
        head += b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_BACKSLASH_ESCAPES' */;\n"
    tuples = [b"(%d,%s,%s)" % (i, sql_string(v, dump_nbe), b"NULL" if n is None else str(n).encode())
              for i, (v, n) in enumerate(rows)]
    return head + b"INSERT INTO `t` VALUES\n" + (b",\n" if per_line else b",").join(tuples) + b";\n"


def csv_dump(rows: list[tuple[str, Decimal | None]]) -> bytes:
    def field(text: str) -> bytes:
        return b'"' + text.encode().replace(b"\\", b"\\\\").replace(b'"', b'""') + b'"'
    return b"".join(b"%d,%s,%s\n" % (i, field(v), b"\\N" if n is None else str(n).encode())
                    for i, (v, n) in enumerate(rows))


def import_and_read(db_server, make_database, files: dict[str, bytes], session: dict[str, str]) -> list[tuple]:
    target = make_database("fuzz")
    with TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
        (root / "src.t-schema.sql").write_text(SCHEMA)
        for name, data in files.items():
            (root / name).write_bytes(data)
        run_import(task_config(db_server, root, target, source_db="src", tidb=session,
                               mydumper={"csv": {"header": False}}))
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, v, n FROM `{target}`.t ORDER BY id")
        return list(cur.fetchall())


def expected(rows: list[tuple[str, Decimal | None]]) -> list[tuple]:
    return [(i, v, n) for i, (v, n) in enumerate(rows)]


@IMPORTS
@given(ROWS, st.booleans(), st.booleans(), st.booleans())
def test_random_sql_dumps_import_exactly(db_server, make_database, rows, dump_nbe, session_nbe, per_line):
    data = sql_dump(rows, dump_nbe, per_line)
    session = NBE_SESSION if session_nbe else {}
    assert import_and_read(db_server, make_database, {"src.t.000000001.sql": data}, session) == expected(rows)


@IMPORTS
@given(ROWS, st.booleans())
def test_random_csv_dumps_import_exactly(db_server, make_database, rows, session_nbe):
    session = NBE_SESSION if session_nbe else {}
    assert import_and_read(db_server, make_database, {"src.t.000000001.csv": csv_dump(rows)}, session) == \
        expected(rows)

"""SQL dumps against the real server: only literals pass, tidb-lightning's statement reading, and strings
stored exactly whatever the session's and the dump's ``NO_BACKSLASH_ESCAPES``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import LightningError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config

SCHEMA = "CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(200));\n"
DATA_FILE = "src.t.000000001.sql"
NBE_SESSION = {"sql-mode": "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES"}


def _dump(tmp_path: Path, rows: bytes) -> Path:
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(SCHEMA)
    (tmp_path / DATA_FILE).write_bytes(rows)
    return tmp_path


def _stored(db_server, db: str) -> list[tuple[int, str]]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, v FROM `{db}`.t ORDER BY id")
        return list(cur.fetchall())


# The expressions of issue 11: each ran on the server and its result was stored.
ATTACKS = [
    b"(SELECT CONCAT(user,':',authentication_string) FROM mysql.user LIMIT 1)",
    b"LEFT(LOAD_FILE('/etc/hostname'),20)",
    b"CURRENT_USER()",
    b"SLEEP(2)",
    b"/*!50000 @@hostname*/",
    b"_binary 'x'",
    b"`v`",
    b"1 + 1",
]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.decode()[:20])
def test_a_tuple_holding_more_than_literals_is_refused_and_nothing_written(db_server, tmp_path, fresh_db, attack):
    head = b"INSERT INTO `t` VALUES (1,'ok'),\n(2,"
    dump = _dump(tmp_path, head + attack + b"),\n(3,'ok');\n")
    started = time.monotonic()
    with pytest.raises(LightningError) as info:
        run_import(task_config(db_server, dump, fresh_db, source_db="src"))
    assert f"{DATA_FILE} at byte offset {len(head)}" in str(info.value)
    assert "only literals are accepted" in str(info.value)
    assert time.monotonic() - started < 30
    assert _stored(db_server, fresh_db) == []


def test_words_are_strings_and_rows_after_a_semicolon_are_read(db_server, tmp_path, fresh_db):
    """As tidb-lightning reads a file: an unquoted word is a string, BEGIN / COMMIT are noise, tuples
    after ';' are more rows. ``CURRENT_USER`` and ``@@hostname`` are stored as the words they are."""
    rows = (b"/*!40101 SET NAMES binary*/;\nBEGIN;\n"
            b"INSERT INTO `t` VALUES (1,CURRENT_USER),(2,@@hostname);\n"
            b"(3,'after'),(4,NULL);\n(5,CONVERT('{\"a\":1}' USING utf8mb4));\nCOMMIT;\n")
    run_import(task_config(db_server, _dump(tmp_path, rows), fresh_db, source_db="src"))
    assert _stored(db_server, fresh_db) == [(1, "CURRENT_USER"), (2, "@@hostname"), (3, "after"), (4, None),
                                            (5, '{"a":1}')]


ESCAPED = (b"INSERT INTO `t` VALUES (1,'a\\\\b'),(2,'x\\ny'),(3,'it\\'s'),(4,\"dq\\\"x\"),(5,'tab\\there'),"
           b"(6,'p%\\%');\n")
MEANT = [(1, "a\\b"), (2, "x\ny"), (3, "it's"), (4, 'dq"x'), (5, "tab\there"), (6, "p%\\%")]


@pytest.mark.parametrize("session", [{}, NBE_SESSION], ids=["default", "no-backslash-escapes"])
def test_backslash_escapes_are_stored_as_meant_in_any_session(db_server, tmp_path, fresh_db, session):
    run_import(task_config(db_server, _dump(tmp_path, ESCAPED), fresh_db, source_db="src", tidb=session))
    assert _stored(db_server, fresh_db) == MEANT


@pytest.mark.parametrize("session", [{}, NBE_SESSION], ids=["default", "no-backslash-escapes"])
def test_a_dump_written_without_backslash_escapes_is_read_as_its_sql_mode_says(db_server, tmp_path, fresh_db,
                                                                             session):
    rows = (b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES' */;\n"
            b"INSERT INTO `t` VALUES (1,'a\\b'),(2,'it''s'),(3,'c:\\new\\'),(4,'plain');\n")
    run_import(task_config(db_server, _dump(tmp_path, rows), fresh_db, source_db="src", tidb=session))
    assert _stored(db_server, fresh_db) == [(1, "a\\b"), (2, "it's"), (3, "c:\\new\\"), (4, "plain")]


@pytest.mark.parametrize("mode", ["ANSI_QUOTES", "ANSI"])
def test_double_quoted_strings_stay_strings_under_ansi_quotes(db_server, tmp_path, fresh_db, mode):
    """mydumper writes strings in double quotes; with ANSI_QUOTES they would name columns: ``"id"``
    would store the row's id, ``"v"`` fail as an unknown column."""
    rows = b'INSERT INTO `t` VALUES (1,"id"),(2,"v"),(3,CONVERT("j\\"k" USING utf8mb4));\n'
    run_import(task_config(db_server, _dump(tmp_path, rows), fresh_db, source_db="src",
                           tidb={"sql-mode": f"STRICT_TRANS_TABLES,{mode}"}))
    assert _stored(db_server, fresh_db) == [(1, "id"), (2, "v"), (3, 'j"k')]

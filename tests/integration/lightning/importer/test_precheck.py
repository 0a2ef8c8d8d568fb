"""Pre-checks ([lightning] check-requirements) against the real server: every problem, before anything is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import RequirementsNotMet
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.db_checks import TPCH_COUNTS
from tests.support.engine_helpers import task_config


@pytest.fixture
def limited_user(db_server, fresh_db: str) -> Iterator[tuple[str, str]]:
    """A user who may create tables in ``fresh_db`` and read them, but not INSERT anywhere."""
    user, password = f"noins_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        cur.execute(f"GRANT CREATE, SELECT ON `{fresh_db}`.* TO %s@'%%'", (user,))
    yield user, password
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("DROP USER %s@'%%'", (user,))


def _schemas(db_server) -> set[str]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        return {name for (name,) in cur.fetchall()}


def _tables(db_server, database: str) -> set[str]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
        return {name for (name,) in cur.fetchall()}


def test_a_user_without_insert_is_refused_before_anything_is_created(
    db_server, sample_dir: Path, fresh_db: str, limited_user: tuple[str, str]
) -> None:
    user, password = limited_user
    config = task_config(db_server, sample_dir / "mydumper-sql", fresh_db)
    config.tidb.user, config.tidb.password = user, password
    schemas_before = _schemas(db_server)
    with pytest.raises(RequirementsNotMet) as failed:
        run_import(config)
    message = str(failed.value)
    assert f"user {user!r} lacks privileges" in message
    tables = ", ".join(f"`{fresh_db}`.`{table}`" for table in sorted(TPCH_COUNTS))
    assert f"DELETE, INSERT on {tables}" in message  # on-duplicate replace: REPLACE needs both
    # the checkpoint and error schemas: CREATE and the DML the import sends there, in the same one message
    assert f"on `{fresh_db}_ckpt`" in message and f"on `{fresh_db}_info`" in message
    assert len(failed.value.problems) == 1, "the privileges of every schema are one problem, listed once"
    assert "\n" not in message, "one line, as every failure of the command line"
    assert password not in message
    assert _tables(db_server, fresh_db) == set(), "no table was created"
    assert _schemas(db_server) == schemas_before, "no checkpoint or error schema was created"


def test_every_problem_in_one_message(db_server, tmp_path: Path, fresh_db: str, limited_user) -> None:
    """A CSV header naming a column the existing target lacks, and missing privileges, reported together."""
    user, password = limited_user
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{fresh_db}`.`t` (`id` INT PRIMARY KEY)")
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (dump / "src.t-schema.sql").write_text("CREATE TABLE `t` (`id` INT PRIMARY KEY);\n")
    (dump / "src.t.000000001.csv").write_text("id,nope\n1,2\n")
    config = task_config(db_server, dump, fresh_db, source_db="src")
    config.tidb.user, config.tidb.password = user, password
    with pytest.raises(RequirementsNotMet) as failed:
        run_import(config)
    problems = failed.value.problems
    assert len(problems) == 2, problems
    assert any(f"src.t.000000001.csv: the CSV header names column(s) nope that `{fresh_db}`.`t`" in p
               for p in problems), problems
    assert any(f"INSERT on `{fresh_db}`.`t`" in p for p in problems), problems
    assert all(p in str(failed.value) for p in problems)
    assert _tables(db_server, fresh_db) == {"t"}


def test_a_row_larger_than_max_allowed_packet_is_found_before_writing(
    db_server, tmp_path: Path, fresh_db: str
) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (dump / "src.t-schema.sql").write_text("CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` LONGTEXT);\n")
    head = "INSERT INTO `t` VALUES (1,'small'),"
    (dump / "src.t.000000001.sql").write_text(head + "(2,'" + "x" * 9000 + "');\n")
    config = task_config(db_server, dump, fresh_db, source_db="src", tidb={"max-allowed-packet": 8192})
    with pytest.raises(RequirementsNotMet) as failed:
        run_import(config)
    (problem,) = failed.value.problems
    assert problem.startswith(f"src.t.000000001.sql at byte offset {len(head)}: a row of 9006 bytes")
    assert "max_allowed_packet" in problem
    assert _tables(db_server, fresh_db) == set()


def test_check_requirements_false_skips_the_checks(db_server, sample_dir: Path, fresh_db: str,
                                                   limited_user) -> None:
    """Off, the import starts and fails on the first statement the user may not send, as before."""
    user, password = limited_user
    config = task_config(db_server, sample_dir / "mydumper-sql", fresh_db, lightning={"check-requirements": False})
    config.tidb.user, config.tidb.password = user, password
    with pytest.raises(Exception) as failed:
        run_import(config)
    assert not isinstance(failed.value, RequirementsNotMet)

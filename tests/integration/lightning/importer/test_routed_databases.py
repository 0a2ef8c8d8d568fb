"""Which databases a routed import creates, as tidb-lightning's loader (``mdLoaderSetup.route``) decides.

The loader counts, per database name, the files that belong to it: its schema-create file, and each
table's schema and data files. Routing a file to another database moves its count there, and a
database whose count falls to 0 is not created. A table-level route does not move the
schema-create file (the router only applies schema-level rules to a database), so the source
database is still created, empty; a schema-level route moves it too, and then the source database
is not created at all.
"""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config


@pytest.fixture
def names(db_server, make_database):
    """(source, first target, second target): three database names none of which exists yet."""
    made = [make_database("src"), make_database("to"), make_database("to")]
    with db_server.connect() as conn, conn.cursor() as cur:
        for name in made:
            cur.execute(f"DROP DATABASE `{name}`")  # make_database still drops them after the test
    return made


def _dump(tmp_path, source):
    (tmp_path / f"{source}-schema-create.sql").write_text(f"CREATE DATABASE `{source}`;\n")
    for table in ("t1", "t2"):
        (tmp_path / f"{source}.{table}-schema.sql").write_text(f"CREATE TABLE `{table}` (id INT PRIMARY KEY);\n")
        (tmp_path / f"{source}.{table}.000000001.sql").write_text(f"INSERT INTO `{table}` VALUES (1),(2);\n")
    return tmp_path


def _databases(db_server, names):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        existing = {row[0] for row in cur.fetchall()}
    return [name for name in names if name in existing]


def _tables(db_server, db):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                    "ORDER BY 1", (db,))
        return [row[0] for row in cur.fetchall()]


@pytest.mark.parametrize(
    ("routes", "created"),
    [
        # Every table routed away and the database too: the source database is not created.
        (lambda s, a, b: [{"schema-pattern": s, "target-schema": a},
                          {"schema-pattern": s, "table-pattern": "t*", "target-schema": b}], "ab"),
        # A schema-level route alone moves everything.
        (lambda s, a, b: [{"schema-pattern": s, "target-schema": a}], "a"),
        # Tables routed away, the schema-create file not: tidb-lightning still creates the source database.
        (lambda s, a, b: [{"schema-pattern": s, "table-pattern": "t*", "target-schema": b}], "sb"),
    ],
    ids=["schema-and-tables-routed", "schema-routed", "only-tables-routed"],
)
def test_databases_created_for_routes(db_server, tmp_path, names, routes, created):
    source, first, second = names
    cfg = task_config(db_server, _dump(tmp_path, source), first, source_db=source,
                      routes=routes(source, first, second),
                      lightning={"task-info-schema-name": f"{first}_info"})
    run_import(cfg)
    expected = {"s": source, "a": first, "b": second}
    assert _databases(db_server, names) == [expected[c] for c in "sab" if c in created]
    tables_in = second if "b" in created else first
    assert _tables(db_server, tables_in) == ["t1", "t2"]
    if "s" in created:
        assert _tables(db_server, source) == []

"""Dump layouts beyond the plain mydumper directory: routes with filters, custom file rules, no-schema,
views, and a dump without its schema-create file. Each test imports into the real test server.
"""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import SchemaError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.engine_helpers import task_config
from tests.support.mydumper_tool import dump, execute_dump, ordered_rows, table_names

SET_NAMES = "/*!40101 SET NAMES binary*/;\n/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n"


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(gzip.compress(data) if relative.endswith(".gz") else data)
    return root


def _import(db_server, source, target, scratch, tmp_path, *, source_db="src", **sections):
    scratch.append(f"{target}_info")
    cfg = task_config(db_server, source, target, source_db=source_db,
                      checkpoint={"driver": "file", "dsn": str(tmp_path / f"{target}.ckpt")}, **sections)
    return run_import(cfg)


def _select(db_server, sql, args=None):
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def _table(name: str, rows: str, *, db: str) -> dict[str, str]:
    return {
        f"{db}.{name}-schema.sql": f"{SET_NAMES}CREATE TABLE `{name}` (id INT PRIMARY KEY, v VARCHAR(20));\n",
        f"{db}.{name}.sql": f"{SET_NAMES}INSERT INTO `{name}` VALUES\n{rows};\n",
    }


# -- routes and filters --------------------------------------------------------------------------


def test_shards_merge_through_wildcard_routes_while_the_filter_excludes(db_server, tmp_path, make_database,
                                                                         scratch_databases):
    source = _write(tmp_path / "dump", {
        "shard_a-schema-create.sql": "CREATE DATABASE `shard_a`;\n",
        "shard_b-schema-create.sql": "CREATE DATABASE `shard_b`;\n",
        **_table("t_1", "(1,'a1'),\n(2,'a1')", db="shard_a"),
        **_table("t_2", "(3,'a2')", db="shard_a"),
        **_table("t_1", "(4,'b1'),\n(5,'b1')", db="shard_b"),
        **_table("skip_me", "(1,'no')", db="shard_a"),
        **_table("other", "(1,'kept')", db="shard_b"),
        **_table("t_9", "(9,'not a shard')", db="elsewhere"),
    })
    target = make_database("merged")
    scratch_databases += ["shard_a", "shard_b", "elsewhere"]  # only if routing went wrong
    summary = _import(db_server, source, target, scratch_databases, tmp_path, source_db="shard_*",
                      mydumper={"filter": ["shard_*.*", "!shard_?.skip*"]},
                      routes=[{"schema-pattern": "shard_*", "table-pattern": "t_*", "target-schema": target,
                               "target-table": "t"},
                              {"schema-pattern": "shard_*", "target-schema": target}])
    assert summary.total_rows == 6
    with db_server.connect() as conn:
        assert table_names(conn, target) == ["other", "t"]
    assert _select(db_server, f"SELECT id, v FROM `{target}`.t ORDER BY id") == (
        (1, "a1"), (2, "a1"), (3, "a2"), (4, "b1"), (5, "b1"))
    assert _select(db_server, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"
                              " WHERE SCHEMA_NAME IN ('shard_a', 'shard_b', 'elsewhere')") == ()


def test_table_route_sends_some_tables_to_another_database_with_a_regex_filter(db_server, tmp_path, make_database,
                                                                              scratch_databases):
    source = _write(tmp_path / "dump", {
        "src-schema-create.sql": "CREATE DATABASE `src`;\n",
        **_table("main", "(1,'m')", db="src"),
        **_table("audit_2023", "(1,'old')", db="src"),
        **_table("Audit_2024", "(2,'new')", db="src"),
        **_table("tmp_main", "(1,'tmp')", db="src"),
    })
    target, archive = make_database("live"), make_database("archive")
    _import(db_server, source, target, scratch_databases, tmp_path,
            mydumper={"filter": ["/^src$/./^(main|audit)/"]},  # regexes search, case-insensitively here
            routes=[{"schema-pattern": "src", "table-pattern": "audit_*", "target-schema": archive,
                     "target-table": "audit"},
                    {"schema-pattern": "src", "target-schema": target}])
    with db_server.connect() as conn:
        assert table_names(conn, target) == ["main"]
        assert table_names(conn, archive) == ["audit"]
    assert _select(db_server, f"SELECT id, v FROM `{archive}`.audit ORDER BY id") == ((1, "old"), (2, "new"))


# -- [[mydumper.files]] --------------------------------------------------------------------------


def test_custom_file_rules_map_odd_file_names(db_server, tmp_path, make_database, scratch_databases):
    schema = "CREATE TABLE whatever_name (id INT PRIMARY KEY, v VARCHAR(20));\n"
    source = _write(tmp_path / "dump", {
        "ddl/database.ddl": "CREATE DATABASE `shop`;\n",
        "ddl/table~items.ddl": schema,
        "ddl/table~stock.ddl": schema,
        "data/items/part-0002.dat": "INSERT INTO x VALUES (2,'two');\n",
        "data/items/part-0010.dat.gz": "INSERT INTO x VALUES (10,'ten'),(11,'eleven');\n",
        "data/items/part-0099.dat": "INSERT INTO x VALUES (99,'ignored by the first rule');\n",
        "data/items/README.txt": "not data",
        "data/stock/all rows.sql": "INSERT INTO x VALUES (1,'one');\n",
        "shop.std-schema.sql": "CREATE TABLE std (id INT PRIMARY KEY);\n",  # the default rules still apply
        "shop.std.sql": "INSERT INTO std VALUES (7);\n",
    })
    target = make_database("shop")
    summary = _import(db_server, source, target, scratch_databases, tmp_path, source_db="shop", mydumper={"files": [
        {"pattern": r"part-0099\.dat$", "type": "ignore"},
        {"pattern": r"^ddl/database\.ddl$", "schema": "shop", "type": "schema-schema"},
        {"pattern": r"^ddl/table~(?<table>\w+)\.ddl$", "schema": "shop", "table": "${table}",
         "type": "table-schema"},
        {"pattern": r"^data/(\w+)/part-(\d+)\.dat(?:\.(gz))?$", "schema": "shop", "table": "$1", "key": "$2",
         "type": "sql", "compression": "$3"},
        {"pattern": r"^data/(\w+)/[^/]+\.sql$", "schema": "shop", "table": "$1", "type": "sql"},
    ]})
    assert {t.table: t.rows for t in summary.tables} == {f"`{target}`.`items`": 3, f"`{target}`.`stock`": 1,
                                                         f"`{target}`.`std`": 1}
    assert _select(db_server, f"SELECT id, v FROM `{target}`.items ORDER BY id") == (
        (2, "two"), (10, "ten"), (11, "eleven"))
    assert _select(db_server, f"SELECT id, v FROM `{target}`.stock") == ((1, "one"),)
    assert _select(db_server, f"SELECT id FROM `{target}`.std") == ((7,),)


def test_without_default_rules_only_custom_rules_select_files(db_server, tmp_path, make_database, scratch_databases):
    source = _write(tmp_path / "dump", {
        **_table("kept", "(1,'x')", db="src"),
        **_table("dropped", "(1,'x')", db="src"),
    })
    target = make_database("only")
    _import(db_server, source, target, scratch_databases, tmp_path, mydumper={
        "default-file-rules": False,
        "files": [{"pattern": r"^src\.kept-schema\.sql$", "schema": "src", "table": "kept", "type": "table-schema"},
                  {"pattern": r"^src\.kept\.sql$", "schema": "src", "table": "kept", "type": "sql"}]})
    with db_server.connect() as conn:
        assert table_names(conn, target) == ["kept"]


# -- no-schema -----------------------------------------------------------------------------------


def test_no_schema_imports_into_pre_created_tables(db_server, tmp_path, make_database, scratch_databases):
    source = _write(tmp_path / "dump", {
        "src-schema-create.sql": "CREATE DATABASE `src` DEFAULT CHARACTER SET latin1;\n",
        # The dump's own definitions would not fit the data: no-schema must not run them.
        "src.t-schema.sql": "CREATE TABLE `t` (id INT PRIMARY KEY, v CHAR(1));\n",
        "src.t.00001.sql": f"{SET_NAMES}INSERT INTO `t` (`v`,`id`) VALUES\n('first',1),\n('second',2);\n",
        "src.t.00002.sql": f"{SET_NAMES}INSERT INTO `t` (`id`,`v`) VALUES\n(3,'third');\n",
        "src.plain-schema.sql": "CREATE TABLE `plain` (a INT, b INT);\n",
        "src.plain.sql": f"{SET_NAMES}INSERT INTO `plain` VALUES\n(1,10),\n(2,20);\n",
    })
    target = make_database("pre")
    with db_server.connect(target) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t (extra VARCHAR(10) NOT NULL DEFAULT 'dflt', v VARCHAR(20), id BIGINT PRIMARY KEY,"
                    " added TIMESTAMP NULL)")
        cur.execute("CREATE TABLE plain (a BIGINT PRIMARY KEY, b DECIMAL(10,2))")
        cur.execute("INSERT INTO t (id, v) VALUES (100, 'already there')")
    summary = _import(db_server, source, target, scratch_databases, tmp_path, mydumper={"no-schema": True})
    assert summary.total_rows == 5
    assert _select(db_server, f"SELECT extra, v, id, added FROM `{target}`.t ORDER BY id") == (
        ("dflt", "first", 1, None), ("dflt", "second", 2, None), ("dflt", "third", 3, None),
        ("dflt", "already there", 100, None))
    assert [(a, str(b)) for a, b in _select(db_server, f"SELECT a, b FROM `{target}`.plain ORDER BY a")] == [
        (1, "10.00"), (2, "20.00")]


def test_no_schema_names_the_missing_target_tables(db_server, tmp_path, make_database, scratch_databases):
    source = _write(tmp_path / "dump", {**_table("here", "(1,'x')", db="src"), **_table("gone", "(1,'x')", db="src")})
    target = make_database("pre")
    with db_server.connect(target) as conn:
        conn.cursor().execute("CREATE TABLE here (id INT PRIMARY KEY, v VARCHAR(20))")
    with pytest.raises(SchemaError, match=r"no-schema.*`gone`") as info:
        _import(db_server, source, target, scratch_databases, tmp_path, mydumper={"no-schema": True})
    assert "`here`" not in str(info.value)
    with db_server.connect() as conn:
        assert table_names(conn, target) == ["here"]


# -- views and schema-create files, from real mydumper dumps ---------------------------------------


@pytest.fixture
def source_db(db_server, scratch_databases):
    """A source database with one table (composite key), to be dumped with mydumper."""
    name = f"src_{uuid.uuid4().hex[:10]}"
    scratch_databases.append(name)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` DEFAULT CHARACTER SET latin1 COLLATE latin1_swedish_ci")
        cur.execute(f"CREATE TABLE `{name}`.items (a INT, b VARCHAR(5), qty INT, PRIMARY KEY (a, b))")
        cur.execute(f"INSERT INTO `{name}`.items VALUES (1,'x',3),(1,'y',0),(2,'x',5)")
    return name


def test_view_without_table_references_is_created_after_the_data(db_server, source_db, tmp_path, make_database,
                                                                  scratch_databases):
    with db_server.connect(source_db) as conn:
        conn.cursor().execute("CREATE DEFINER=`nobody`@`nowhere` SQL SECURITY INVOKER VIEW v_const AS"
                              " SELECT 1 AS one, 'it''s' AS two")
    dump_dir = dump(db_server, source_db, tmp_path / "dump")
    assert (dump_dir / f"{source_db}.v_const-schema-view.sql").exists()
    assert (dump_dir / f"{source_db}.v_const-schema.sql").exists()  # mydumper's placeholder table
    target = make_database("views")
    summary = _import(db_server, dump_dir, target, scratch_databases, tmp_path, source_db=source_db)
    assert [t.table for t in summary.tables] == [f"`{target}`.`items`"]
    with db_server.connect() as conn:
        assert table_names(conn, target) == ["items"]  # the placeholder is not left behind as a table
        assert table_names(conn, target, "VIEW") == ["v_const"]
    assert _select(db_server, f"SELECT one, two FROM `{target}`.v_const") == ((1, "it's"),)
    definer = _select(db_server, "SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA=%s", (target,))
    assert definer[0][0] != "nobody@nowhere"  # the source's definer is dropped


def test_view_over_a_table_is_created_in_the_target(db_server, source_db, tmp_path, make_database,
                                                    scratch_databases):
    with db_server.connect(source_db) as conn:
        conn.cursor().execute("CREATE VIEW v_items AS SELECT a, b, qty * 2 AS double_qty FROM items WHERE qty > 0")
    dump_dir = dump(db_server, source_db, tmp_path / "dump")
    assert (dump_dir / f"{source_db}.v_items-schema-view.sql").exists()
    target, client = make_database("views"), make_database("cli")
    _import(db_server, dump_dir, target, scratch_databases, tmp_path, source_db=source_db)
    execute_dump(db_server, client, dump_dir)
    with db_server.connect() as conn:
        assert table_names(conn, target, "VIEW") == table_names(conn, client, "VIEW") == ["v_items"]
    assert ordered_rows(db_server, target, "v_items") == ordered_rows(db_server, source_db, "v_items")


@pytest.mark.parametrize("with_create_file", [True, False])
def test_missing_schema_create_file_creates_the_database_with_defaults(db_server, source_db, tmp_path,
                                                                       scratch_databases, with_create_file):
    dump_dir = dump(db_server, source_db, tmp_path / "dump")
    create_file = dump_dir / f"{source_db}-schema-create.sql"
    assert b"latin1" in create_file.read_bytes()
    if not with_create_file:
        create_file.unlink()
    target = f"made_{uuid.uuid4().hex[:10]}"  # does not exist yet: the engine creates it
    scratch_databases.append(target)
    summary = _import(db_server, dump_dir, target, scratch_databases, tmp_path, source_db=source_db)
    assert summary.total_rows == 3
    server_default = _select(db_server, "SELECT @@character_set_server")[0][0]
    charset = _select(db_server, "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA"
                                 " WHERE SCHEMA_NAME=%s", (target,))
    assert charset == ((("latin1" if with_create_file else server_default),),)
    assert ordered_rows(db_server, target, "items") == ordered_rows(db_server, source_db, "items")

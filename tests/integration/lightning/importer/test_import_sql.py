"""End-to-end imports of SQL dumps into the real test server, compared with the source."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import zstandard

from airflow_provider_tidb_lightning.lightning.errors import CheckpointError, ImportFailed
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.db_checks import TPCH_COUNTS, database_checksums, table_checksum
from tests.support.engine_helpers import task_config


def test_sample_dump_imports_exactly(db_server, sample_dir, fresh_db, reference_db):
    cfg = task_config(db_server, sample_dir / "mydumper-sql", fresh_db, tikv_importer={"on-duplicate": "error"})
    summary = run_import(cfg)
    assert summary.total_rows == sum(TPCH_COUNTS.values())
    assert {t.table.split("`.`")[1].rstrip("`"): t.rows for t in summary.tables} == TPCH_COUNTS
    with db_server.connect() as conn:
        ours = database_checksums(conn, fresh_db)
        reference = database_checksums(conn, reference_db)
        assert ours == reference
        cur = conn.cursor()
        cur.execute(f"SELECT n_name, n_comment FROM {fresh_db}.nation WHERE n_nationkey = 0")
        assert cur.fetchone() == ("ALGERIA", " haggle. carefully final deposits detect slyly agai")
        cur.execute(f"SELECT MAX(l_orderkey), MIN(l_shipdate) FROM {fresh_db}.lineitem")
        assert cur.fetchone()[0] == 60000
    assert summary.to_dict()["total_rows"] == 86805


def test_filter_and_routes_select_and_rename(db_server, sample_dir, make_database):
    target = make_database("routed")
    cfg = task_config(db_server, sample_dir / "mydumper-sql", target,
                      mydumper={"filter": ["tpch.n*", "tpch.region"]},
                      routes=[{"schema-pattern": "tpch", "table-pattern": "nation", "target-schema": target,
                               "target-table": "countries"},
                              {"schema-pattern": "tpch", "target-schema": target}])
    run_import(cfg)
    with db_server.connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s ORDER BY 1", (target,))
        assert [r[0] for r in cur.fetchall()] == ["countries", "region"]
        assert table_checksum(conn, target, "countries")["rows"] == 25


@pytest.mark.parametrize("suffix", ["gz", "zst"])
def test_compressed_dump_equals_plain(db_server, sample_dir, make_database, tmp_path, reference_db, suffix):
    src = sample_dir / "mydumper-sql"
    for path in src.iterdir():
        data = path.read_bytes()
        if path.suffix != ".sql" or "-schema" in path.name:
            shutil.copy(path, tmp_path / path.name)
        elif suffix == "gz":
            (tmp_path / f"{path.name}.gz").write_bytes(gzip.compress(data))
        else:
            (tmp_path / f"{path.name}.zst").write_bytes(zstandard.ZstdCompressor().compress(data))
    target = make_database(suffix)
    run_import(task_config(db_server, tmp_path, target, mydumper={"filter": ["tpch.lineitem", "tpch.orders"]}))
    with db_server.connect() as conn:
        for table in ("lineitem", "orders"):
            assert table_checksum(conn, target, table) == table_checksum(conn, reference_db, table)


def _small_dump(tmp_path: Path, rows: str, schema: str = "CREATE TABLE `t` (`id` INT PRIMARY KEY, "
                "`v` VARCHAR(8), `d` DATE);\n") -> Path:
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.t-schema.sql").write_text(schema)
    (tmp_path / "src.t.000000001.sql").write_text(rows)
    return tmp_path


def _rows(conn, db):
    cur = conn.cursor()
    cur.execute(f"SELECT id, v FROM `{db}`.t ORDER BY id")
    return cur.fetchall()


@pytest.mark.parametrize("mode,expected", [
    ("replace", ((1, "new1"), (2, "new2"), (3, "old3"))),
    ("ignore", ((1, "old1"), (2, "new2"), (3, "old3"))),
])
def test_on_duplicate_on_populated_target(db_server, tmp_path, fresh_db, mode, expected):
    dump = _small_dump(tmp_path, "INSERT INTO `t` VALUES (1,'new1','2020-01-01'),(2,'new2',NULL);\n")
    with db_server.connect() as conn:
        conn.cursor().execute(f"CREATE TABLE `{fresh_db}`.t (id INT PRIMARY KEY, v VARCHAR(8), d DATE)")
        conn.cursor().execute(f"INSERT INTO `{fresh_db}`.t VALUES (1,'old1',NULL),(3,'old3',NULL)")
    summary = run_import(task_config(db_server, dump, fresh_db, source_db="src",
                                     tikv_importer={"on-duplicate": mode}))
    with db_server.connect() as conn:
        assert _rows(conn, fresh_db) == expected
    assert summary.tables[0].conflicts == 1


def test_on_duplicate_error_stops_and_names_the_row(db_server, tmp_path, fresh_db):
    rows = "INSERT INTO `t` VALUES (5,'a',NULL),\n(1,'dup',NULL);\n"
    dump = _small_dump(tmp_path, rows)
    with db_server.connect() as conn:
        conn.cursor().execute(f"CREATE TABLE `{fresh_db}`.t (id INT PRIMARY KEY, v VARCHAR(8), d DATE)")
        conn.cursor().execute(f"INSERT INTO `{fresh_db}`.t VALUES (1,'old1',NULL)")
    cfg = task_config(db_server, dump, fresh_db, source_db="src", tikv_importer={"on-duplicate": "error"})
    with pytest.raises(ImportFailed) as info:
        run_import(cfg)
    message = str(info.value)
    assert "src.t.000000001.sql" in message and f"byte offset {rows.index('(1,')}" in message
    assert "Duplicate entry" in message
    with db_server.connect() as conn:  # the failed batch left nothing behind
        assert _rows(conn, fresh_db) == ((1, "old1"),)
    with pytest.raises(CheckpointError, match="checkpoint-error"):  # the failure is remembered
        run_import(cfg)


def test_bad_rows_are_recorded_within_the_error_budget(db_server, tmp_path, fresh_db):
    rows = ("INSERT INTO `t` VALUES (1,'ok',NULL),(2,'far too long',NULL),(3,'ok','2020-02-30'),"
            "(4,'ok','2021-03-04');\n")
    dump = _small_dump(tmp_path, rows)
    info_db = f"{fresh_db}_info"
    cfg = task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": 2})
    summary = run_import(cfg)
    assert summary.tables[0].rows == 2 and summary.tables[0].skipped_rows == 2
    with db_server.connect() as conn:
        assert _rows(conn, fresh_db) == ((1, "ok"), (4, "ok"))
        cur = conn.cursor()
        cur.execute(f"SELECT `path`, `offset`, `error`, `row_data` FROM `{info_db}`.type_error_v1 ORDER BY `offset`")
        records = cur.fetchall()
    assert [(r[0], r[1], r[3]) for r in records] == [
        ("src.t.000000001.sql", rows.index("(2,"), b"(2,'far too long',NULL)"),
        ("src.t.000000001.sql", rows.index("(3,"), b"(3,'ok','2020-02-30')"),
    ]
    assert "1406" in records[0][2] and "1292" in records[1][2]


def test_error_budget_exceeded_stops_with_file_and_offset(db_server, tmp_path, fresh_db):
    rows = "INSERT INTO `t` VALUES (1,'ok',NULL),(2,'far too long',NULL),(3,'ok','2020-02-30');\n"
    dump = _small_dump(tmp_path, rows)
    cfg = task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": 1})
    with pytest.raises(ImportFailed) as info:
        run_import(cfg)
    assert f"src.t.000000001.sql at byte offset {rows.index('(3,')}" in str(info.value)
    assert "max-error" in str(info.value)
    with db_server.connect() as conn:
        assert _rows(conn, fresh_db) == ()  # the batch that broke the budget was rolled back


def test_malformed_sql_names_file_and_offset(db_server, tmp_path, fresh_db):
    rows = "INSERT INTO `t` VALUES (1,'ok',NULL),\n(2,'unterminated,NULL);\n"
    dump = _small_dump(tmp_path, rows)
    with pytest.raises(Exception) as info:
        run_import(task_config(db_server, dump, fresh_db, source_db="src"))
    assert "src.t.000000001.sql" in str(info.value)
    assert f"{rows.index('(2,')}" in str(info.value)


def test_table_without_schema_file_is_an_error(db_server, tmp_path, fresh_db):
    (tmp_path / "src.t.000000001.sql").write_text("INSERT INTO `t` VALUES (1);\n")
    with pytest.raises(Exception, match=r"no schema file .*src\.t"):
        run_import(task_config(db_server, tmp_path, fresh_db, source_db="src"))


def test_wrong_number_of_values_is_a_recorded_row(db_server, tmp_path, fresh_db):
    rows = "INSERT INTO `t` VALUES (1,'ok',NULL),(2,'short'),(3,'ok',NULL);\n"
    dump = _small_dump(tmp_path, rows)
    summary = run_import(task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": 1}))
    assert summary.tables[0].rows == 2 and summary.tables[0].type_errors == 1
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT `offset`, `error` FROM `{fresh_db}_info`.type_error_v1")
        offset, error = cur.fetchone()
    assert offset == rows.index("(2,") and "1136" in error


def test_invalid_utf8_for_a_utf8mb4_column_names_file_and_offset(db_server, tmp_path, fresh_db):
    head = b"/*!40101 SET NAMES binary*/;\nINSERT INTO `t` VALUES (1,'ok',NULL),"
    dump = _small_dump(tmp_path, "")
    (dump / "src.t.000000001.sql").write_bytes(head + b"(2,'\xff\xfe',NULL);\n")
    with pytest.raises(ImportFailed) as info:
        run_import(task_config(db_server, dump, fresh_db, source_db="src"))
    assert f"src.t.000000001.sql at byte offset {len(head)}" in str(info.value)
    assert "1366" in str(info.value)
    with db_server.connect() as conn:
        assert _rows(conn, fresh_db) == ()


def test_truncated_gzip_names_file_and_leaves_checkpointed_rows_only(db_server, tmp_path, fresh_db):
    body = "INSERT INTO `t` VALUES " + ",".join(f"({i},'v{i}',NULL)" for i in range(1, 200001)) + ";\n"
    dump = _small_dump(tmp_path, "")
    (dump / "src.t.000000001.sql").unlink()
    data = gzip.compress(body.encode())
    (dump / "src.t.000000001.sql.gz").write_bytes(data[: len(data) // 2])
    cfg = task_config(db_server, dump, fresh_db, source_db="src",
                      tikv_importer={"logical-import-batch-size": "4KiB", "on-duplicate": "error"})
    with pytest.raises(Exception, match=r"src\.t\.000000001\.sql\.gz.*(truncated|corrupt)") as info:
        run_import(cfg)
    assert "byte offset" in str(info.value)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), MAX(id) FROM `{fresh_db}`.t")
        count, top = cur.fetchone()
        cur.execute(f"SELECT SUM(`rows_written`) FROM `{fresh_db}_ckpt`.chunk_v1")
        saved = int(cur.fetchone()[0])
    assert 0 < count < 200000 and count == top == saved  # exactly the committed prefix, as the checkpoint says


def test_foreign_keys_do_not_depend_on_load_order(db_server, tmp_path, fresh_db):
    """`child` sorts (and loads) before `parent`: writers must not check foreign keys, as myloader does not."""
    (tmp_path / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (tmp_path / "src.parent-schema.sql").write_text("CREATE TABLE `parent` (`id` INT PRIMARY KEY);\n")
    (tmp_path / "src.child-schema.sql").write_text(
        "/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\nCREATE TABLE `child` (`id` INT PRIMARY KEY, `p` INT NOT NULL,"
        " FOREIGN KEY (`p`) REFERENCES `parent` (`id`));\n")
    (tmp_path / "src.parent.sql").write_text("INSERT INTO `parent` VALUES (1),(2);\n")
    (tmp_path / "src.child.sql").write_text("INSERT INTO `child` VALUES (10,1),(20,2);\n")
    cfg = task_config(db_server, tmp_path, fresh_db, source_db="src",
                      lightning={"region-concurrency": 1, "table-concurrency": 1})
    summary = run_import(cfg)
    assert summary.total_rows == 4
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT c.id, p.id FROM `{fresh_db}`.child c JOIN `{fresh_db}`.parent p ON c.p = p.id ORDER BY 1")
        assert cur.fetchall() == ((10, 1), (20, 2))
    checked = task_config(db_server, tmp_path, f"{fresh_db}_fk", source_db="src",
                          lightning={"region-concurrency": 1, "table-concurrency": 1},
                          tidb={"session-vars": {"foreign_key_checks": 1}})
    with pytest.raises(ImportFailed, match="1452"):  # the setting is the user's to override, and it matters
        run_import(checked)

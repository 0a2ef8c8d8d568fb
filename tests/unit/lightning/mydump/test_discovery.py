"""discover(): the TPC-H ``.tbl`` files and hand-made dumps in temporary directories (the real mydumper
dump: tests/integration/lightning/mydump/test_tpch_dump.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import zstandard

from airflow_provider_tidb_lightning.lightning.config.model import FileRule, MydumperSection, Route
from airflow_provider_tidb_lightning.lightning.errors import ConfigError, SourceError
from airflow_provider_tidb_lightning.lightning.mydump import discover
from tests.support.mydump_harness import run, table

TPCH_TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def make_dump(root: Path, files: dict[str, bytes | str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def test_tbl_files_through_a_custom_rule(tpch_tbl_dir: Path) -> None:
    rules = [FileRule(pattern=r"^(\w+)\.tbl$", schema="tpch", table="$1", type="csv")]
    layout = run(tpch_tbl_dir, files=rules)
    assert [t.source_table for t in layout.tables] == TPCH_TABLES
    assert all(t.schema_file is None and t.data_files[0].format == "csv" for t in layout.tables)
    assert [(d.source_schema, d.schema_file) for d in layout.databases] == [("tpch", None)]


def test_data_files_sort_numerically(tmp_path: Path) -> None:
    make_dump(tmp_path, {f"db.t.{n}.sql": "" for n in (10, 2, 1, 33)} | {"db.t-schema.sql": ""})
    assert [f.sort_key for f in table(run(tmp_path), "db", "t").data_files] == ["1", "2", "10", "33"]


def test_odd_and_escaped_names(tmp_path: Path) -> None:
    make_dump(
        tmp_path,
        {
            "my-db-schema-create.sql": "",
            "my-db.my.tbl-schema.sql": "",
            "my-db.my.tbl.sql": "",
            "my-db.my.tbl.1.sql": "",
            "we%2Eird-schema-create.sql": "",
            "we%2Eird.t%20x.csv": "",
        },
    )
    layout = run(tmp_path)
    odd = table(layout, "my-db", "my.tbl")
    assert [f.relative for f in odd.data_files] == ["my-db.my.tbl.sql", "my-db.my.tbl.1.sql"]
    assert odd.schema_file is not None and odd.schema_file.source_table == "my.tbl"
    escaped = table(layout, "we.ird", "t x")
    assert escaped.data_files[0].format == "csv"
    assert {d.source_schema for d in layout.databases} == {"my-db", "we.ird"}


def test_compressed_data_and_schema_files(tmp_path: Path) -> None:
    make_dump(
        tmp_path,
        {
            "db-schema-create.sql.gz": gzip.compress(b"CREATE DATABASE db;"),
            "db.t-schema.sql.zst": zstandard.ZstdCompressor().compress(b"CREATE TABLE t (a int);"),
            "db.t.000.sql.gz": gzip.compress(b"INSERT INTO t VALUES (1);"),
            "db.t.001.csv.zstd": zstandard.ZstdCompressor().compress(b"a\n2\n"),
        },
    )
    layout = run(tmp_path)
    t = table(layout, "db", "t")
    assert [(f.format, f.compression) for f in t.data_files] == [("sql", "gzip"), ("csv", "zstd")]
    assert t.schema_file is not None and t.schema_file.compression == "zstd"
    assert layout.databases[0].schema_file is not None and layout.databases[0].schema_file.compression == "gzip"


def test_ignored_files_are_listed(tmp_path: Path) -> None:
    make_dump(
        tmp_path,
        {
            "metadata": "",
            "db.t-schema.sql": "",
            "db.t.sql": "",
            "db.t-schema-trigger.sql": "",
            "db.t-schema-triggers.sql": "",
            "db-schema-post.sql": "",
            "db.t.sql.bak": "",
            "notes/README.md": "",
        },
    )
    layout = run(tmp_path)
    assert [t.source_table for t in layout.tables] == ["t"]
    assert sorted(layout.ignored) == sorted(
        [
            "metadata",
            "db.t-schema-trigger.sql",
            "db.t-schema-triggers.sql",
            "db-schema-post.sql",
            "db.t.sql.bak",
            "notes/README.md",
        ]
    )


def test_filtered_out_database_leaves_no_trace(tmp_path: Path) -> None:
    make_dump(
        tmp_path,
        {
            "keep-schema-create.sql": "",
            "keep.t.sql": "",
            "drop-schema-create.sql": "",
            "drop.t-schema.sql": "",
            "drop.t.sql": "",
            "mysql-schema-create.sql": "",
            "mysql.user.sql": "",
        },
    )
    layout = run(tmp_path, filter=("*.*", "!drop.*", "!mysql.*"))
    assert [d.source_schema for d in layout.databases] == ["keep"]
    assert [(t.source_schema, t.source_table) for t in layout.tables] == [("keep", "t")]
    assert layout.ignored == []


def test_table_without_any_schema_file_is_still_listed(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.t.sql": "INSERT INTO t VALUES (1);"})
    layout = run(tmp_path)
    t = table(layout, "db", "t")
    assert t.schema_file is None and len(t.data_files) == 1
    assert [(d.source_schema, d.target_schema, d.schema_file) for d in layout.databases] == [("db", "db", None)]


def test_schema_only_table_and_empty_database(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.empty-schema.sql": "", "lonely-schema-create.sql": ""})
    layout = run(tmp_path)
    assert table(layout, "db", "empty").data_files == []
    assert [d.source_schema for d in layout.databases] == ["db", "lonely"]


def test_view_replaces_its_placeholder_table(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.t-schema.sql": "", "db.t.sql": "", "db.v-schema.sql": "", "db.v-schema-view.sql": ""})
    layout = run(tmp_path)
    view = table(layout, "db", "v")
    assert view.is_view and view.data_files == []
    assert view.schema_file is not None and view.schema_file.relative == "db.v-schema-view.sql"
    assert not table(layout, "db", "t").is_view
    assert layout.ignored == ["db.v-schema.sql"]


def test_data_file_for_a_view_is_an_error(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.v-schema-view.sql": "", "db.v.sql": ""})
    with pytest.raises(SourceError, match="data file for view") as info:
        run(tmp_path)
    assert info.value.path == "db.v.sql"


def test_two_schema_files_for_one_table_is_an_error(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.t-schema.sql": "", "db.t-schema.sql.gz": gzip.compress(b"")})
    with pytest.raises(SourceError, match=r"second schema file for table `db`.`t` \(the first is db.t-schema.sql\)"):
        run(tmp_path)


def test_case_insensitive_grouping_keeps_spelling(tmp_path: Path) -> None:
    make_dump(tmp_path, {"Shop-schema-create.sql": "", "Shop.Orders-schema.sql": "", "SHOP.ORDERS.1.sql": ""})
    layout = run(tmp_path)
    [orders] = layout.tables
    assert (orders.source_schema, orders.source_table) == ("Shop", "Orders")
    assert (orders.target_schema, orders.target_table) == ("Shop", "Orders")
    assert [f.relative for f in orders.data_files] == ["SHOP.ORDERS.1.sql"]
    assert (orders.data_files[0].source_schema, orders.data_files[0].source_table) == ("Shop", "Orders")

    sensitive = run(tmp_path, case_sensitive=True)
    assert sorted((t.source_schema, t.source_table) for t in sensitive.tables) == [
        ("SHOP", "ORDERS"),
        ("Shop", "Orders"),
    ]


def test_sharded_tables_merge_into_one_target(tmp_path: Path) -> None:
    make_dump(
        tmp_path,
        {
            "shard_1-schema-create.sql": "",
            "shard_1.orders-schema.sql": "",
            "shard_1.orders.sql": "",
            "shard_2-schema-create.sql": "",
            "shard_2.orders-schema.sql": "",
            "shard_2.orders.sql": "",
        },
    )
    layout = run(tmp_path, [Route(schema_pattern="shard_*", table_pattern="orders", target_schema="merged")])
    assert [(t.source_schema, t.target_schema, t.target_table) for t in layout.tables] == [
        ("shard_1", "merged", "orders"),
        ("shard_2", "merged", "orders"),
    ]
    # each shard database is still created (schema rule: none), and the merged one from the shard's file
    assert [(d.source_schema, d.target_schema) for d in layout.databases] == [
        ("shard_1", "shard_1"),
        ("shard_1", "merged"),
        ("shard_2", "shard_2"),
        ("shard_2", "merged"),
    ]
    merged = [d for d in layout.databases if d.target_schema == "merged"]
    assert all(d.schema_file is not None for d in merged)


def test_table_route_from_a_database_without_schema_file(tmp_path: Path) -> None:
    make_dump(tmp_path, {"src.t.sql": ""})
    layout = run(tmp_path, [Route(schema_pattern="src", table_pattern="t", target_schema="dst")])
    assert [(d.source_schema, d.target_schema, d.schema_file) for d in layout.databases] == [("src", "dst", None)]


def test_files_in_subdirectories(tmp_path: Path) -> None:
    make_dump(tmp_path, {"part1/db.t.1.sql": "", "part2/db.t.2.sql": "", "db.t-schema.sql": ""})
    layout = run(tmp_path)
    assert [f.relative for f in table(layout, "db", "t").data_files] == ["part1/db.t.1.sql", "part2/db.t.2.sql"]


def test_custom_rules_only(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.t.sql": "", "exports/orders_2024.csv": ""})
    rules = [FileRule(pattern=r"^exports/(\w+)_(\d+)\.csv$", schema="shop", table="$1", key="$2", type="csv")]
    layout = run(tmp_path, files=rules, default_file_rules=False)
    [orders] = layout.tables
    assert (orders.source_schema, orders.source_table, orders.data_files[0].sort_key) == ("shop", "orders", "2024")
    assert layout.ignored == ["db.t.sql"]


def test_unsupported_compression_names_the_file(tmp_path: Path) -> None:
    make_dump(tmp_path, {"db.t.sql.lz4": ""})
    with pytest.raises(SourceError, match="unsupported compression") as info:
        run(tmp_path)
    assert info.value.path == "db.t.sql.lz4"


def test_bad_custom_rule_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        run(tmp_path, files=[FileRule(pattern="([", schema="a", table="b", type="sql")])
    assert info.value.key == "mydumper.files[0].pattern"


@pytest.mark.parametrize("directory", ["", "does/not/exist"])
def test_unusable_data_source_dir(tmp_path: Path, directory: str) -> None:
    target = str(tmp_path / directory) if directory else ""
    with pytest.raises(ConfigError) as info:
        discover(MydumperSection(data_source_dir=target), [])
    assert info.value.key == "mydumper.data-source-dir"

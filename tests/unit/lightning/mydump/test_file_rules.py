"""FileRouter: the built-in mydumper/Dumpling name rules and [[mydumper.files]] rules."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.config.model import FileRule
from airflow_provider_tidb_lightning.lightning.errors import ConfigError, SourceError
from airflow_provider_tidb_lightning.lightning.mydump.compression import Compression
from airflow_provider_tidb_lightning.lightning.mydump.file_rules import (
    FileKind,
    FileRouter,
    RouteResult,
    is_sequence_schema,
)

DEFAULTS = FileRouter([])


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("tpch-schema-create.sql", RouteResult("schema-schema", "tpch")),
        ("tpch.nation-schema.sql", RouteResult("table-schema", "tpch", "nation")),
        ("tpch.v_top-schema-view.sql", RouteResult("view-schema", "tpch", "v_top")),
        ("tpch.nation.sql", RouteResult("sql", "tpch", "nation")),
        ("tpch.lineitem.00000.sql", RouteResult("sql", "tpch", "lineitem", "00000")),
        ("tpch.lineitem.12.csv", RouteResult("csv", "tpch", "lineitem", "12")),
        ("tpch.lineitem.csv", RouteResult("csv", "tpch", "lineitem")),
        ("TPCH.Nation.SQL", RouteResult("sql", "TPCH", "Nation")),
        ("tpch.lineitem.00001.sql.gz", RouteResult("sql", "tpch", "lineitem", "00001", "gzip")),
        ("tpch.lineitem.sql.gzip", RouteResult("sql", "tpch", "lineitem", "", "gzip")),
        ("tpch.lineitem.3.csv.zst", RouteResult("csv", "tpch", "lineitem", "3", "zstd")),
        ("tpch.lineitem.csv.ZSTD", RouteResult("csv", "tpch", "lineitem", "", "zstd")),
        ("tpch.nation-schema.sql.gz", RouteResult("table-schema", "tpch", "nation", "", "gzip")),
        ("tpch-schema-create.sql.zst", RouteResult("schema-schema", "tpch", "", "", "zstd")),
        # the database ends at the first dot; the table may hold dots and dashes
        ("my-db.my.tbl.sql", RouteResult("sql", "my-db", "my.tbl")),
        ("my-db.my.tbl.7.sql", RouteResult("sql", "my-db", "my.tbl", "7")),
        ("my-db.my-tbl-schema.sql", RouteResult("table-schema", "my-db", "my-tbl")),
        # Dumpling URL-escapes names
        ("db%2Ename.t%25x.sql", RouteResult("sql", "db.name", "t%x")),
        ("caf%C3%A9-schema-create.sql", RouteResult("schema-schema", "café")),
        ("%E8%A1%A8.%E5%AD%97.sql", RouteResult("sql", "表", "字")),
        # mydumper >= 0.14: sub-chunk M of chunk N, compressed with zstd
        ("tpch.lineitem.00000.00001.sql", RouteResult("sql", "tpch", "lineitem", "00000.00001")),
        ("tpch.lineitem.00002.00010.sql.zst", RouteResult("sql", "tpch", "lineitem", "00002.00010", "zstd")),
        ("tpch.lineitem.00000.00001.csv.gz", RouteResult("csv", "tpch", "lineitem", "00000.00001", "gzip")),
        ("tpch-schema-create.sql.zst", RouteResult("schema-schema", "tpch", "", "", "zstd")),
        ("tpch.v-schema-view.sql.zst", RouteResult("view-schema", "tpch", "v", "", "zstd")),
        # Dumpling: escaped dots, percent signs, slashes and non-ASCII in both names
        ("a%2Eb.c%2Fd.000000000.sql", RouteResult("sql", "a.b", "c/d", "000000000")),
        ("%E4%B8%AD%E6%96%87.%E8%A1%A8-schema.sql", RouteResult("table-schema", "中文", "表")),
        ("%E4%B8%AD%E6%96%87.%E8%A7%86%E5%9B%BE-schema-view.sql", RouteResult("view-schema", "中文", "视图")),
        # directories do not matter, but names never span them
        ("export/2024/tpch.orders.0001.sql", RouteResult("sql", "tpch", "orders", "0001")),
        ("a.b/tpch.orders.sql", RouteResult("sql", "tpch", "orders")),
    ],
)
def test_default_rules(relative: str, expected: RouteResult) -> None:
    assert DEFAULTS.route(relative) == expected


@pytest.mark.parametrize(
    "relative",
    [
        "metadata",
        "sub/metadata",
        "tpch.t-schema-trigger.sql",
        "tpch.t-schema-triggers.sql",
        "tpch-schema-post.sql",
        "tpch.t-schema-post.sql.gz",
        "tpch.t.sql.bak",
        "tpch.t.00001.csv.gz.BAK",
        "metadata.partial.0",
        "tpch.s-schema-sequence.sql",
        "tpch.s-schema-sequence.sql.zst",
    ],
)
def test_default_ignore_rules(relative: str) -> None:
    assert DEFAULTS.route(relative) == RouteResult("ignore")


@pytest.mark.parametrize("relative", ["README.txt", "tpch.sql", "nodot.csv", "t.parquet", "dir.with.dots/file"])
def test_unmatched_names(relative: str) -> None:
    assert DEFAULTS.route(relative) is None


def test_unknown_compression_extension_is_an_error_naming_the_file() -> None:
    with pytest.raises(SourceError, match="unsupported compression 'lz4'") as info:
        DEFAULTS.route("tpch.t.sql.lz4")
    assert info.value.path == "tpch.t.sql.lz4"


def test_custom_rule_with_numbered_groups_comes_before_defaults() -> None:
    router = FileRouter([FileRule(pattern=r"^tbl/(\w+)\.(\d+)\.tbl$", schema="tpch", table="$1", key="$2", type="csv")])
    assert router.route("tbl/lineitem.3.tbl") == RouteResult("csv", "tpch", "lineitem", "3")
    assert router.route("tpch.nation.sql") == RouteResult("sql", "tpch", "nation")  # defaults still apply


def test_custom_rule_with_named_groups_python_and_go_syntax() -> None:
    rule = FileRule(
        pattern=r"(?i)^(?P<db>[a-z]+)/(?<tbl>[a-z_]+)-part(?P<n>\d+)\.dat$",
        schema="${db}_v2",
        table="$tbl",
        key="${n}",
        type="CSV",
    )
    assert FileRouter([rule]).route("Sales/orders-part0042.dat") == RouteResult("csv", "Sales_v2", "orders", "0042")


def test_custom_rule_dollar_escape_and_no_unescaping() -> None:
    rule = FileRule(pattern=r"^(\w+)\.(.+)\.csv$", schema="$1", table="$$$2", type="csv")
    assert FileRouter([rule], default_rules=False).route("db.t%2E1.csv") == RouteResult("csv", "db", "$t%2E1")


def test_custom_rule_overrides_defaults_and_ignores() -> None:
    router = FileRouter([FileRule(pattern=r"^tpch\.nation\.sql$", type="ignore")])
    assert router.route("tpch.nation.sql") == RouteResult("ignore")
    assert router.route("tpch.region.sql") == RouteResult("sql", "tpch", "region")


def test_custom_rule_compression_auto_detect_and_template() -> None:
    auto = FileRule(pattern=r"^(\w+)\.dat(\.\w+)?$", schema="db", table="$1", type="csv")
    assert FileRouter([auto]).route("t.dat.gz") == RouteResult("csv", "db", "t", "", "gzip")
    assert FileRouter([auto]).route("t.dat") == RouteResult("csv", "db", "t", "", "")
    explicit = FileRule(pattern=r"^(\w+)\.dat\.(\w+)$", schema="db", table="$1", type="sql", compression="$2")
    assert FileRouter([explicit]).route("t.dat.zst") == RouteResult("sql", "db", "t", "", "zstd")
    with pytest.raises(SourceError, match="unsupported compression 'xz'"):
        FileRouter([explicit]).route("t.dat.xz")


def test_type_from_template() -> None:
    rule = FileRule(pattern=r"^(\w+)\.(\w+)\.(\w+)$", schema="$1", table="$2", type="$3")
    router = FileRouter([rule], default_rules=False)
    assert router.route("db.t.csv").kind == "csv"
    with pytest.raises(SourceError, match="unknown file type 'txt'") as info:
        router.route("db.t.txt")
    assert info.value.path == "db.t.txt"


def test_schema_schema_rule_has_no_table() -> None:
    rule = FileRule(pattern=r"^(\w+)\.create$", schema="$1", type="schema-schema")
    assert FileRouter([rule]).route("shop.create") == RouteResult("schema-schema", "shop")


def test_empty_captured_name_is_an_error() -> None:
    rule = FileRule(pattern=r"^(\w*)\.x$", schema="db", table="$1", type="sql")
    with pytest.raises(SourceError, match="empty table name"):
        FileRouter([rule]).route(".x")


def test_without_default_rules_only_custom_rules_apply() -> None:
    router = FileRouter([FileRule(pattern=r"^x$", schema="a", table="b", type="sql")], default_rules=False)
    assert router.route("tpch.nation.sql") is None
    assert router.route("x") == RouteResult("sql", "a", "b")


@pytest.mark.parametrize(
    ("rule", "key", "message"),
    [
        (FileRule(pattern="(unclosed", schema="a", table="b", type="sql"), "pattern", "invalid regular expression"),
        (FileRule(pattern="", schema="a", table="b", type="sql"), "pattern", "needs a pattern"),
        (FileRule(pattern="x", schema="a", table="b", type=""), "type", "needs a type"),
        (FileRule(pattern="x", schema="a", table="b", type="orc"), "type", "unknown file type"),
        (FileRule(pattern="(x)", schema="a", table="$2", type="sql"), "table", "group '2'"),
        (FileRule(pattern="(?P<a>x)", schema="${b}", table="t", type="sql"), "schema", "group 'b'"),
        (FileRule(pattern="x", table="t", type="sql"), "schema", "needs a schema"),
        (FileRule(pattern="x", schema="a", type="csv"), "table", "needs a table"),
        (FileRule(pattern="x", schema="a", table="b", type="sql", compression="lz4"), "compression", "lz4"),
    ],
)
def test_bad_custom_rules_name_the_key(rule: FileRule, key: str, message: str) -> None:
    good = FileRule(pattern="y", schema="a", table="b", type="sql")
    with pytest.raises(ConfigError, match=message) as info:
        FileRouter([good, rule])
    assert info.value.key == f"mydumper.files[1].{key}"


def test_route_results_carry_enum_members_even_from_templates() -> None:
    rule = FileRule(pattern=r"^(\w+)\.(\w+)\.(SQL|CSV)(?:\.(gz))?$", schema="$1", table="$2", type="$3",
                    compression="$4")
    result = FileRouter([rule], default_rules=False).route("db.t.CSV.gz")
    assert result is not None
    assert result.kind is FileKind.CSV and result.compression is Compression.GZIP
    assert FileRouter([]).route("db-schema-create.sql") == RouteResult(FileKind.SCHEMA_SCHEMA, "db")


@pytest.mark.parametrize(
    ("relative", "expected"),
    [("tpch.s-schema-sequence.sql", True), ("tpch.s-schema-sequence.sql.gz", True), ("tpch.s-schema.sql", False),
     ("tpch.sequence.sql", False)],
)
def test_sequence_schema_files_are_recognised(relative: str, expected: bool) -> None:
    assert is_sequence_schema(relative) is expected

"""TableFilter: tidb-lightning's filter syntax and its last-rule-wins semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.config.model import DEFAULT_FILTER
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.mydump.table_filter import TableFilter


def test_default_filter_excludes_system_schemas_in_any_case() -> None:
    f = TableFilter(DEFAULT_FILTER)
    assert f.match_table("tpch", "lineitem")
    assert not f.match_table("mysql", "user")
    assert not f.match_table("information_schema", "tables")
    assert not f.match_table("Performance_Schema", "x")
    assert not f.match_schema("sys")
    assert f.match_schema("tpch")


def test_case_sensitive_filter_compares_exact_spelling() -> None:
    f = TableFilter(DEFAULT_FILTER, case_sensitive=True)
    assert not f.match_table("INFORMATION_SCHEMA", "t")
    assert f.match_table("information_schema", "t")


@pytest.mark.parametrize(
    ("schema", "table", "expected"),
    [
        ("db1", "t5", True),
        ("dbx", "t0", True),
        ("db12", "t5", False),
        ("db1", "tx", False),
        ("db1", "t55", False),
    ],
)
def test_wildcards(schema: str, table: str, expected: bool) -> None:
    assert TableFilter(["db?.t[0-9]"]).match_table(schema, table) is expected


def test_negated_character_class() -> None:
    f = TableFilter(["[!a-c]*.*"])
    assert f.match_table("db", "t")
    assert not f.match_table("alpha", "t")


def test_quoted_names_may_hold_dots_dashes_and_quotes() -> None:
    f = TableFilter(["`my-db`.`t.x`", '"we""ird"."t``q"'])
    assert f.match_table("my-db", "t.x")
    assert not f.match_table("my-db", "t")
    assert f.match_table('we"ird', "t``q")


def test_escaped_punctuation() -> None:
    f = TableFilter([r"my\-db.*"])
    assert f.match_table("my-db", "anything")
    assert not f.match_table("myxdb", "anything")


def test_regex_patterns_are_searched_not_anchored() -> None:
    f = TableFilter([r"/^shard_\d+$/./log/"])
    assert f.match_table("shard_12", "access_log_2024")
    assert not f.match_table("shard_x", "access_log")
    assert not f.match_table("shard_1", "orders")
    assert TableFilter(["/SHARD/.*"]).match_table("my_shard_db", "t")  # case-insensitive by default
    assert not TableFilter(["/SHARD/.*"], case_sensitive=True).match_table("my_shard_db", "t")


def test_last_matching_rule_wins() -> None:
    f = TableFilter(["*.*", "!db.*", "db.keep"])
    assert f.match_table("db", "keep")
    assert not f.match_table("db", "other")
    assert f.match_table("other", "x")
    g = TableFilter(["db.keep", "!db.*"])
    assert not g.match_table("db", "keep")


def test_nothing_is_selected_without_a_positive_rule() -> None:
    assert not TableFilter(["!db.*"]).match_table("other", "t")
    assert not TableFilter([]).match_table("db", "t")


def test_match_schema_only_drops_a_database_excluded_as_a_whole() -> None:
    assert not TableFilter(["*.*", "!db.*"]).match_schema("db")
    assert TableFilter(["*.*", "!db.t"]).match_schema("db")
    assert TableFilter(["*.*", "!db.*", "db.keep"]).match_schema("db")
    assert TableFilter(["tpch.l*"]).match_schema("tpch")
    assert not TableFilter(["tpch.l*"]).match_schema("other")


def test_comments_and_blank_rules_are_skipped() -> None:
    f = TableFilter(["# a comment", "  ", "  db.t  "])
    assert f.match_table("db", "t")


def test_rules_from_a_file(tmp_path: Path) -> None:
    rules = tmp_path / "filter.txt"
    rules.write_text("# tables to import\n*.*\n\n!db.secret\n")
    f = TableFilter([f"@{rules}"])
    assert f.match_table("db", "public")
    assert not f.match_table("db", "secret")


def test_missing_filter_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read filter file") as info:
        TableFilter(["*.*", f"@{tmp_path / 'none.txt'}"])
    assert info.value.key == "mydumper.filter[1]"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("my-db.*", "unexpected special character '-'"),
        ("db", "missing '.'"),
        ("db.t.x", "stray characters"),
        ("/db.*", "incomplete regular expression"),
        ("`db.*", "incomplete quoted name"),
        (r"\a.*", "cannot escape a letter"),
        ("db.", "missing pattern"),
        ("/(/.*", "invalid regular expression"),
        ("db[.t", "character class"),
    ],
)
def test_bad_rules_name_the_key(rule: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        TableFilter(["*.*", rule])
    assert info.value.key == "mydumper.filter[1]"

"""TableRouter: [[routes]] wildcards, schema-only rules, precedence."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.config.model import Route
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.mydump.routes import TableRouter


def test_no_routes_keeps_names() -> None:
    router = TableRouter([])
    assert router.route_schema("tpch") == "tpch"
    assert router.route_table("tpch", "Nation") == ("tpch", "Nation")


def test_schema_only_rule_moves_schema_and_its_tables() -> None:
    router = TableRouter([Route(schema_pattern="tpch", target_schema="analytics")])
    assert router.route_schema("tpch") == "analytics"
    assert router.route_table("tpch", "nation") == ("analytics", "nation")
    assert router.route_table("other", "nation") == ("other", "nation")


def test_table_rule_wins_over_schema_rule_for_tables_only() -> None:
    router = TableRouter(
        [
            Route(schema_pattern="tpch", target_schema="analytics"),
            Route(schema_pattern="tpch", table_pattern="lineitem", target_schema="facts", target_table="li"),
        ]
    )
    assert router.route_table("tpch", "lineitem") == ("facts", "li")
    assert router.route_table("tpch", "orders") == ("analytics", "orders")
    assert router.route_schema("tpch") == "analytics"  # table rules never apply to the schema-create


def test_shards_merge_with_wildcards_and_empty_target_table() -> None:
    router = TableRouter([Route(schema_pattern="shard_?", table_pattern="t_*", target_schema="merged")])
    assert router.route_table("shard_1", "t_2024") == ("merged", "t_2024")
    assert router.route_table("shard_2", "t_2024") == ("merged", "t_2024")
    assert router.route_table("shard_10", "t_2024") == ("shard_10", "t_2024")
    assert router.route_table("shard_1", "x_2024") == ("shard_1", "x_2024")


def test_first_matching_rule_wins() -> None:
    router = TableRouter(
        [
            Route(schema_pattern="db", table_pattern="t*", target_schema="first", target_table="a"),
            Route(schema_pattern="*", table_pattern="*", target_schema="second", target_table="b"),
        ]
    )
    assert router.route_table("db", "t1") == ("first", "a")
    assert router.route_table("db", "x") == ("second", "b")


def test_case_folding() -> None:
    route = Route(schema_pattern="TPCH", table_pattern="Line*", target_schema="Facts", target_table="LI")
    assert TableRouter([route]).route_table("tpch", "lineitem") == ("Facts", "LI")
    assert TableRouter([route], case_sensitive=True).route_table("tpch", "lineitem") == ("tpch", "lineitem")


def test_pattern_matches_the_whole_name() -> None:
    router = TableRouter([Route(schema_pattern="db", target_schema="x")])
    assert router.route_schema("db2") == "db2"
    assert router.route_schema("my.db") == "my.db"


@pytest.mark.parametrize(
    ("route", "key"),
    [
        (Route(schema_pattern="", target_schema="x"), "routes[1].schema-pattern"),
        (Route(schema_pattern="db", target_schema=""), "routes[1].target-schema"),
        (Route(schema_pattern="db", target_schema="x", target_table="t"), "routes[1].target-table"),
    ],
)
def test_invalid_routes_name_the_key(route: Route, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        TableRouter([Route(schema_pattern="ok", target_schema="fine"), route])
    assert info.value.key == key

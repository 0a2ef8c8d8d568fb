"""tidb-lightning's table-router cases (pkg/util/table-router/router_test.go: TestRoute, TestCaseSensitive),
ported as tables: the same rules route the same names to the same targets."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.config.model import Route
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.mydump.routes import TableRouter

RULES = [
    Route("Test_1_*", "abc*", "t1", "abc"),
    Route("test_1_*", "test*", "t2", "test"),
    Route("test_1_*", "", "test", ""),
    Route("test_2_*", "abc*", "t1", "abc"),
    Route("test_2_*", "test*", "t2", "test"),
]


@pytest.mark.parametrize(
    ("case_sensitive", "schema", "table", "target"),
    [
        # TestRoute (case-insensitive)
        (False, "test_1_a", "abc1", ("t1", "abc")),
        (False, "test_2_a", "abc2", ("t1", "abc")),
        (False, "test_1_a", "test1", ("t2", "test")),
        (False, "test_2_a", "test2", ("t2", "test")),
        (False, "test_1_a", "xyz", ("test", "xyz")),  # the schema-level rule, table name kept
        (False, "test_3_a", "xyz", ("test_3_a", "xyz")),  # no rule: unchanged
        # TestCaseSensitive: "Test_1_*" no longer matches "test_1_a", so the schema-level rule applies
        (True, "test_1_a", "abc1", ("test", "abc1")),
        (True, "test_2_a", "abc2", ("t1", "abc")),
        (True, "test_1_a", "test1", ("t2", "test")),
        (True, "test_2_a", "test2", ("t2", "test")),
        (True, "test_1_a", "xyz", ("test", "xyz")),
    ],
)
def test_route(case_sensitive, schema, table, target):
    assert TableRouter(RULES, case_sensitive=case_sensitive).route_table(schema, table) == target


@pytest.mark.parametrize(("schema", "target"), [("test_1_a", "test"), ("test_3_a", "test_3_a")])
def test_schema_route(schema, target):
    assert TableRouter(RULES).route_schema(schema) == target


def test_a_rule_without_target_schema_is_refused():
    with pytest.raises(ConfigError, match="target-schema"):
        TableRouter([Route("test*", "abc*")])

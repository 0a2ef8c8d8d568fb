"""``[[routes]]``: rename source databases and tables on the way to the target.

Patterns are wildcards (``*``, ``?``, ``[...]``) matched against the whole name. A rule with
an empty ``table-pattern`` renames the database only: it applies to the schema-create file
and to every table of a matching database that no table rule claims. Table rules are tried
before schema rules, as in tidb-lightning; within each kind the first matching rule wins
(tidb-lightning rejects a name matching two rules instead). An empty ``target-table`` keeps
the table's own name, which is how ``shard_*.t`` -> ``merged.t`` merges shards.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..config.model import Route
from ..errors import ConfigError


@dataclass(frozen=True)
class _TableRule:
    schema: re.Pattern[str]
    table: re.Pattern[str]
    target_schema: str
    target_table: str


@dataclass(frozen=True)
class _SchemaRule:
    schema: re.Pattern[str]
    target_schema: str


class TableRouter:
    """Compiled ``[[routes]]``; ``case_sensitive=False`` matches names ignoring case."""

    def __init__(self, routes: Sequence[Route], *, case_sensitive: bool = False) -> None:
        flags = 0 if case_sensitive else re.IGNORECASE
        self._table_rules: list[_TableRule] = []
        self._schema_rules: list[_SchemaRule] = []
        for index, route in enumerate(routes):
            where = f"routes[{index}]"
            if not route.schema_pattern:
                raise ConfigError("a route needs a schema-pattern", key=f"{where}.schema-pattern")
            if not route.target_schema:
                raise ConfigError("a route needs a target-schema", key=f"{where}.target-schema")
            if not route.table_pattern and route.target_table:
                raise ConfigError(
                    "target-table needs a table-pattern (a rule without one renames the database only)",
                    key=f"{where}.target-table",
                )
            schema = re.compile(fnmatch.translate(route.schema_pattern), flags)
            if route.table_pattern:
                table = re.compile(fnmatch.translate(route.table_pattern), flags)
                self._table_rules.append(_TableRule(schema, table, route.target_schema, route.target_table))
            else:
                self._schema_rules.append(_SchemaRule(schema, route.target_schema))

    def route_schema(self, schema: str) -> str:
        """The target database of a source database's schema-create file."""
        for rule in self._schema_rules:
            if rule.schema.match(schema):
                return rule.target_schema
        return schema

    def route_table(self, schema: str, table: str) -> tuple[str, str]:
        """The target ``(database, table)`` of a source table; unmatched names stay as they are."""
        for rule in self._table_rules:
            if rule.schema.match(schema) and rule.table.match(table):
                return rule.target_schema, rule.target_table or table
        return self.route_schema(schema), table

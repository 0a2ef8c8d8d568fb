"""``[black-white-list]``'s MySQL replication rules, matched the way tidb-lightning's table filter matches them.

Two filters, and a table must pass both:

* databases: with ``do-dbs``, only the listed ones; otherwise every database but the ``ignore-dbs``;
* tables: with ``do-tables``, only the listed ones; otherwise every table but the ``ignore-tables``.

A name is a regular expression when it starts with ``~`` (searched, not anchored, as Go's
``MatchString``), a wildcard when it holds ``*``, ``?`` or ``[`` (``[!...]`` negates a class), and
a plain name otherwise. ``do-*`` lists win over ``ignore-*`` lists of the same kind, as in
tidb-lightning. Names are compared ignoring case unless ``mydumper.case-sensitive`` is set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..config.model import BlackWhiteList, TableName
from ..errors import ConfigError

_WILDCARD = {"*": ".*", "?": "."}


def _compile(pattern: str, case_sensitive: bool, key: str) -> re.Pattern[str]:
    """One legacy name pattern as a regex that :meth:`re.Pattern.search` applies."""
    if not pattern:
        raise ConfigError("a name pattern cannot be empty", key=key)
    flags = 0 if case_sensitive else re.IGNORECASE
    if pattern.startswith("~"):
        source = pattern[1:]
    elif not any(c in pattern for c in "*?["):
        source = "^" + re.escape(pattern) + r"\Z"
    else:
        parts = []
        for part in re.split(r"(\[!?[^\]]*\]|[*?])", pattern):
            if part in _WILDCARD:
                parts.append(_WILDCARD[part])
            elif part.startswith("[") and part.endswith("]") and len(part) > 2:
                body = part[1:-1]
                parts.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body.replace("^", "\\^") + "]")
            else:
                parts.append(re.escape(part))
        source = "(?s)^" + "".join(parts) + r"\Z"
    try:
        return re.compile(source, flags)
    except re.error as exc:
        raise ConfigError(f"invalid pattern {pattern!r}: {exc}", key=key) from exc


@dataclass(frozen=True)
class _Rules:
    """One of the two filters: rules over (database, table); ``positive`` lists select, others exclude."""

    rules: tuple[tuple[re.Pattern[str], re.Pattern[str] | None], ...]
    positive: bool

    def match_table(self, schema: str, table: str) -> bool:
        hit = any(db.search(schema) and (tbl is None or tbl.search(table)) for db, tbl in self.rules)
        return hit if self.positive else not hit

    def match_schema(self, schema: str) -> bool:
        if self.positive:
            return any(db.search(schema) for db, _ in self.rules)
        return not any(db.search(schema) and tbl is None for db, tbl in self.rules)


class LegacyTableFilter:
    """The filter of a ``[black-white-list]``, with :class:`~.table_filter.TableFilter`'s two questions."""

    def __init__(self, bw: BlackWhiteList, *, case_sensitive: bool = False) -> None:
        def dbs(names: Sequence[str], key: str) -> tuple[tuple[re.Pattern[str], None], ...]:
            return tuple((_compile(n, case_sensitive, f"{key}[{i}]"), None) for i, n in enumerate(names))

        def tables(names: Sequence[TableName], key: str) -> tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]:
            return tuple((_compile(t.db_name, case_sensitive, f"{key}[{i}].db-name"),
                          _compile(t.tbl_name, case_sensitive, f"{key}[{i}].tbl-name")) for i, t in enumerate(names))

        if bw.do_dbs:
            self._dbs = _Rules(dbs(bw.do_dbs, "black-white-list.do-dbs"), positive=True)
        else:
            self._dbs = _Rules(dbs(bw.ignore_dbs, "black-white-list.ignore-dbs"), positive=False)
        if bw.do_tables:
            self._tables = _Rules(tables(bw.do_tables, "black-white-list.do-tables"), positive=True)
        else:
            self._tables = _Rules(tables(bw.ignore_tables, "black-white-list.ignore-tables"), positive=False)

    def match_table(self, schema: str, table: str) -> bool:
        return self._dbs.match_table(schema, table) and self._tables.match_table(schema, table)

    def match_schema(self, schema: str) -> bool:
        return self._dbs.match_schema(schema) and self._tables.match_schema(schema)

"""tidb-lightning's deprecated ``[black-white-list]``: read, warned about, and refused next to ``mydumper.filter``.

tidb-lightning still reads ``do-dbs``, ``ignore-dbs`` (names or patterns) and ``do-tables``,
``ignore-tables`` (arrays of ``{db-name, tbl-name}`` tables), logs "the config `black-white-list` has
been deprecated, please replace with `mydumper.filter`", and refuses a task that also changes
``mydumper.filter``. The matching itself (MySQL replication-rule semantics) is
:mod:`..mydump.legacy_filter`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .model import DEFAULT_FILTER, TableName, TaskConfig

log = logging.getLogger(__name__)

KEYS = ("do-dbs", "do-tables", "ignore-dbs", "ignore-tables")


class InvalidTables(ValueError):
    """A ``do-tables`` / ``ignore-tables`` entry is not a ``{db-name, tbl-name}`` table; ``at`` says which."""

    def __init__(self, message: str, at: str) -> None:
        super().__init__(message)
        self.at = at


def table_names(value: Any) -> tuple[TableName, ...]:
    """``[[black-white-list.do-tables]]`` entries: tables with a non-empty ``db-name`` and ``tbl-name``."""
    if not isinstance(value, list):
        raise InvalidTables("expected an array of tables with db-name and tbl-name", "")
    names = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"db-name", "tbl-name"}:
            raise InvalidTables("expected a table with only db-name and tbl-name", f"[{index}]")
        db, table = item.get("db-name"), item.get("tbl-name")
        if not isinstance(db, str) or not isinstance(table, str) or not db or not table:
            raise InvalidTables("db-name and tbl-name must both be non-empty strings", f"[{index}]")
        names.append(TableName(db, table))
    return tuple(names)


def adjust_black_white_list(cfg: TaskConfig, fail: Callable[[str, str], ConfigError]) -> None:
    """Warn that the list is deprecated, and refuse it next to a ``mydumper.filter`` (tidb-lightning's rules)."""
    if not cfg.mydumper.black_white_list.defined:
        return
    log.warning("%s: the config `black-white-list` has been deprecated, please replace with `mydumper.filter`",
                cfg.source)
    if tuple(cfg.mydumper.filter) != DEFAULT_FILTER:
        raise fail("`mydumper.filter` and `black-white-list` cannot be simultaneously defined", "black-white-list")

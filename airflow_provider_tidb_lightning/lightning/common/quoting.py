"""Quoting of identifiers. Names come from file names and dump files, so they are always quoted."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Backtick-quote ``name``, doubling backticks inside it (MySQL / TiDB rules)."""
    return "`" + name.replace("`", "``") + "`"


def quote_table(schema: str, table: str) -> str:
    """``schema``.``table``, both quoted."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"

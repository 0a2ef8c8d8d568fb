"""The fixed part of every data statement: verb, target table and column list.

Rows arrive as ready SQL tuples (see :mod:`..source.rows`); a batch statement is this prefix
followed by the tuples joined with commas. The verb follows ``on-duplicate`` / ``[conflict]
strategy``: error -> INSERT, replace -> REPLACE, ignore -> INSERT IGNORE. The verb and table name
written in the dump file are ignored, as tidb-lightning does.
"""

from __future__ import annotations

from .identifiers import quote_identifier, quote_table

VERBS = {"error": "INSERT INTO", "replace": "REPLACE INTO", "ignore": "INSERT IGNORE INTO"}


def insert_prefix(mode: str, schema: str, table: str, columns: tuple[str, ...] | None) -> bytes:
    """``REPLACE INTO `db`.`t` (`a`,`b`) VALUES`` as UTF-8 bytes, ready to be followed by tuples."""
    column_list = ""
    if columns:
        column_list = " (" + ",".join(quote_identifier(c) for c in columns) + ")"
    return f"{VERBS[mode]} {quote_table(schema, table)}{column_list} VALUES ".encode()

"""The TiDB backend's encoder: field values into SQL row tuples, and the statement prefix before them.

A batch statement is :func:`insert_prefix` followed by row tuples ``(v1,v2,...)`` joined with
commas. The verb follows ``on-duplicate`` / ``[conflict] strategy``: error -> INSERT, replace ->
REPLACE, ignore -> INSERT IGNORE. The verb and table name written in the dump file are ignored,
as tidb-lightning does.

Values stay bytes end to end: a field is written as a literal the server converts exactly,
so no value ever passes through a Python int, float or str. Numbers are sent quoted like
strings because the server's string-to-DECIMAL conversion is exact and Python's is not needed.
Binary columns get ``x'..'`` literals so the connection charset can never re-interpret the bytes.
"""

from __future__ import annotations

import re
from binascii import hexlify

from ...common.quoting import quote_identifier, quote_table

STRING = "string"
BINARY = "binary"
BIT = "bit"
NUMBER = "number"

_BINARY_TYPES = frozenset(
    {
        "binary",
        "varbinary",
        "tinyblob",
        "blob",
        "mediumblob",
        "longblob",
        # Spatial values in a data file are the server's internal (WKB) bytes.
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
    }
)
_NUMBER_TYPES = frozenset(
    {
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "integer",
        "bigint",
        "decimal",
        "numeric",
        "float",
        "double",
        "real",
        "year",
    }
)

# Characters that must not appear raw inside a quoted literal (mysql_real_escape_string's set).
_NEEDS_ESCAPE = re.compile(rb"[\\'\x00\n\r\x1a]")
# A BIT value the server accepts verbatim: a decimal number or a bit/hex literal.
_BIT_LITERAL = re.compile(rb"[0-9]++|[bB]'[01]*+'|0[xX][0-9a-fA-F]++|[xX]'(?:[0-9a-fA-F]{2})*+'")


def column_kind(data_type: str) -> str:
    """Map an ``information_schema.COLUMNS.DATA_TYPE`` value to how its literals are written."""
    name = data_type.strip().lower()
    if name in _BINARY_TYPES:
        return BINARY
    if name == "bit":
        return BIT
    if name in _NUMBER_TYPES:
        return NUMBER
    return STRING


def _escape_backslash(value: bytes) -> bytes:
    return (
        value.replace(b"\\", b"\\\\")
        .replace(b"'", b"\\'")
        .replace(b"\x00", b"\\0")
        .replace(b"\n", b"\\n")
        .replace(b"\r", b"\\r")
        .replace(b"\x1a", b"\\Z")
    )


def _escape_quote_only(value: bytes) -> bytes:
    return value.replace(b"'", b"''")


def _bit_literal(value: bytes) -> bytes:
    # A number or bit literal is kept as written; anything else is the raw bit pattern.
    if _BIT_LITERAL.fullmatch(value):
        return value
    return b"x'" + hexlify(value) + b"'"


class RowEncoder:
    """Encodes one row's fields (``None`` = NULL) as a SQL tuple for the target's columns.

    ``column_kinds`` lists :func:`column_kind` values in field order; ``None`` treats every
    column as a string. ``no_backslash_escapes`` follows the session's ``sql_mode``: under
    ``NO_BACKSLASH_ESCAPES`` a backslash is an ordinary character and only quotes are doubled.
    """

    def __init__(self, column_kinds: list[str] | None, *, no_backslash_escapes: bool) -> None:
        self.column_kinds = list(column_kinds) if column_kinds is not None else None
        self.no_backslash_escapes = no_backslash_escapes
        self._escape = _escape_quote_only if no_backslash_escapes else _escape_backslash
        self._special = re.compile(rb"'") if no_backslash_escapes else _NEEDS_ESCAPE
        self.all_quoted = self.column_kinds is None or all(kind in (STRING, NUMBER) for kind in self.column_kinds)
        """Every column is a plain quoted literal: ``('a','b')`` is valid when nothing needs escaping."""

    def encode(self, fields: list[bytes | None]) -> bytes:
        """Return ``(v1,v2,...)``; ``fields`` must have one value per column."""
        if self.all_quoted:
            try:
                joined = b"".join(fields)  # type: ignore[arg-type]  # TypeError on a NULL
            except TypeError:
                pass
            else:
                if self._special.search(joined) is None:
                    return b"('" + b"','".join(fields) + b"')"  # type: ignore[arg-type]
        return b"(" + b",".join(map(self._literal, fields, self._kinds(len(fields)))) + b")"

    def _kinds(self, count: int) -> list[str]:
        return self.column_kinds if self.column_kinds is not None else [STRING] * count

    def _literal(self, value: bytes | None, kind: str) -> bytes:
        if value is None:
            return b"NULL"
        if kind == BINARY:
            return b"x'" + hexlify(value) + b"'"
        if kind == BIT:
            return _bit_literal(value)
        if self._special.search(value) is not None:
            value = self._escape(value)
        return b"'" + value + b"'"

VERBS = {"error": "INSERT INTO", "replace": "REPLACE INTO", "ignore": "INSERT IGNORE INTO"}


def insert_prefix(mode: str, schema: str, table: str, columns: tuple[str, ...] | None) -> bytes:
    """``REPLACE INTO `db`.`t` (`a`,`b`) VALUES`` as UTF-8 bytes, ready to be followed by tuples."""
    column_list = ""
    if columns:
        column_list = " (" + ",".join(quote_identifier(c) for c in columns) + ")"
    return f"{VERBS[mode]} {quote_table(schema, table)}{column_list} VALUES ".encode()

"""The TiDB backend's encoder: field values into SQL row tuples, and the statement prefix before them.

A batch statement is :func:`insert_prefix` followed by row tuples ``(v1,v2,...)`` joined with
commas. All SQL text the TiDB backend sends is written here: the data-file readers hand over field
values (:meth:`RowEncoder.encode`) or whole runs of plain records (:meth:`RowEncoder.encode_block`),
never quoting or escaping anything themselves. The verb follows ``on-duplicate`` / ``[conflict]
strategy``: error -> INSERT, replace -> REPLACE, ignore -> INSERT IGNORE. The verb and table name
written in the dump file are ignored, as tidb-lightning does.

Values stay bytes end to end: a field is written as a literal the server converts exactly,
so no value ever passes through a Python int, float or str. Numbers are sent quoted like
strings because the server's string-to-DECIMAL conversion is exact and Python's is not needed.
Binary columns get ``x'..'`` literals so the connection charset can never re-interpret the bytes.
"""

from __future__ import annotations

import re
from binascii import hexlify
from functools import partial

from ...common.quoting import escape_string, quote_identifier, quote_table

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
# Of those, the ones :meth:`RowEncoder.encode_block` leaves to :meth:`RowEncoder.encode` (it escapes
# the quote in bulk; a line break cannot be in a block's fields; a backslash may only be in ``null``).
_BLOCK_DECLINES = (b"\\", b"\x00", b"\r", b"\x1a")
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
        self._escape = partial(escape_string, no_backslash_escapes=no_backslash_escapes)
        self._special = re.compile(rb"'") if no_backslash_escapes else _NEEDS_ESCAPE
        self._apostrophe = b"''" if no_backslash_escapes else b"\\'"
        self.all_quoted = self.column_kinds is None or all(kind in (STRING, NUMBER) for kind in self.column_kinds)
        """Every column is a plain quoted literal: ``('a','b')`` is valid when nothing needs escaping."""
        self.line_rows = False
        """A tuple may hold a raw line break (under ``NO_BACKSLASH_ESCAPES``): batches keep a list of rows."""

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

    def encode_block(
        self,
        text: bytes,
        sep: bytes,
        *,
        enclosed: bytes = b"",
        null: bytes = b"",
        stand_in: bytes = b"",
        nulls: tuple[bytes, ...] = (),
    ) -> bytes | None:
        """Encode a run of records at once: what makes CSV fast (a few ``replace`` calls per run).

        ``text`` is whole lines, each ending in ``\\n``, of fields joined by ``sep``; the fields are
        final values (nothing left to unescape) that hold neither ``sep`` nor a line break. Where a
        field held ``sep``, the reader wrote ``stand_in`` (a byte absent from the run) instead. With
        ``enclosed``, every field is written between two ``enclosed`` bytes (a quote that no field
        holds), so fields may hold ``sep``: the quoted CSV that Dumpling writes, passed as it is. A
        field that is exactly ``null`` is NULL; ``null`` must occur only as a whole field. Returns
        the tuples, each followed by ``\\n`` (one per line of ``text``: no split into a list), or ``None``
        when the run must go record by record through :meth:`encode`: a column is not a quoted literal,
        a field needs escaping beyond the quote, or a field equals one of ``nulls`` (texts that would be
        NULL).
        """
        if not self.all_quoted or b"'" in sep or any(map(text.__contains__, _BLOCK_DECLINES[1:-1])):
            return None
        if b"\\" in text and not (null and text.count(b"\\") == text.count(null) * null.count(b"\\")):
            return None
        if b"\x1a" in text and stand_in != b"\x1a":
            return None
        if b"'" in text and enclosed != b"'":
            text = text.replace(b"'", self._apostrophe)
        if enclosed:
            inner = text[1:-2].replace(enclosed + sep + enclosed, b"','")
            encoded = b"('" + inner.replace(enclosed + b"\n" + enclosed, b"')\n('") + b"')\n"
        else:
            encoded = b"('" + text[:-1].replace(sep, b"','").replace(b"\n", b"')\n('") + b"')\n"
        if stand_in:
            encoded = encoded.replace(stand_in, sep)
        if nulls and any(b"'" + v.replace(b"'", self._apostrophe) + b"'" in encoded for v in nulls):
            return None
        if null and null in encoded:
            encoded = encoded.replace(b"'" + null + b"'", b"NULL")
        return encoded

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

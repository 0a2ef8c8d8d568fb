"""Quoting of identifiers. Names come from file names and dump files, so they are always quoted."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Backtick-quote ``name``, doubling backticks inside it (MySQL / TiDB rules)."""
    return "`" + name.replace("`", "``") + "`"


def quote_table(schema: str, table: str) -> str:
    """``schema``.``table``, both quoted."""
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"


def escape_string(value: bytes, *, no_backslash_escapes: bool) -> bytes:
    """``value`` ready to sit between single quotes in a session with or without ``NO_BACKSLASH_ESCAPES``.

    With backslash escapes, the characters ``mysql_real_escape_string`` escapes are escaped (a raw
    NUL, CR or Ctrl-Z would survive too, but an escaped one survives any log or console); under
    ``NO_BACKSLASH_ESCAPES`` a backslash is an ordinary character and only the quote is doubled.
    """
    if no_backslash_escapes:
        return value.replace(b"'", b"''")
    return (
        value.replace(b"\\", b"\\\\")
        .replace(b"'", b"\\'")
        .replace(b"\x00", b"\\0")
        .replace(b"\n", b"\\n")
        .replace(b"\r", b"\\r")
        .replace(b"\x1a", b"\\Z")
    )


def string_literal(value: bytes, *, no_backslash_escapes: bool) -> bytes:
    """``value`` as a single-quoted SQL string literal for the session (see :func:`escape_string`)."""
    return b"'" + escape_string(value, no_backslash_escapes=no_backslash_escapes) + b"'"

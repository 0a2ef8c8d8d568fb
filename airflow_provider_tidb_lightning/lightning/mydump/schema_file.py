"""Pure functions over the DDL of schema files: split into statements, rewrite names.

Schema files are small, so clarity wins over speed here. They are handled as bytes, because a
dump written under ``SET NAMES binary`` may hold bytes of any character set in default values and
comments; the statements are sent back to the server as the same bytes.
"""

from __future__ import annotations

import re

from ..common.quoting import quote_identifier, quote_table

# One token: a quoted string or identifier, a comment, or a run of anything else but ';'.
_TOKEN = re.compile(
    rb"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`"""
    rb"""|/\*.*?\*/|--[ \t][^\n]*|#[^\n]*|;|[^'"`/#;-]+|[/#-]""",
    re.S,
)
_LEADING_COMMENTS = re.compile(rb"^(?:\s+|/\*(?!!).*?\*/|--[ \t][^\n]*|#[^\n]*)*", re.S)
# An identifier as the TiDB (and MySQL) parser reads it: quoted, or unquoted of ASCII letters, digits,
# ``_``, ``$`` and any non-ASCII character (the bytes >= 0x80 of its UTF-8 form): ``CREATE TABLE 中文表``.
_NAME = rb"(?:`(?:[^`]|``)+`|[0-9A-Za-z_$\x80-\xff]+)"
# ``IF NOT EXISTS``, also inside the version comment mysqldump and mydumper write (``/*!32312 IF NOT EXISTS*/``).
_IF_NOT_EXISTS = rb"(?:IF\s+NOT\s+EXISTS\s+|/\*!\d*\s*IF\s+NOT\s+EXISTS\s*\*/\s*)?"
_CREATE_TABLE = re.compile(
    rb"^CREATE\s+(?:TEMPORARY\s+)?TABLE\s+" + _IF_NOT_EXISTS + _NAME + rb"(?:\s*\.\s*" + _NAME + rb")?",
    re.I,
)
_CREATE_DATABASE = re.compile(rb"^CREATE\s+(?:DATABASE|SCHEMA)\s+" + _IF_NOT_EXISTS + _NAME, re.I)
_CREATE_VIEW = re.compile(
    rb"^CREATE\s+(?:OR\s+REPLACE\s+)?(?P<algorithm>ALGORITHM\s*=\s*\w+\s+)?"
    rb"(?:DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|[^\s@]+)(?:\s*@\s*(?:`[^`]*`|'[^']*'|[^\s]+))?\s+)?"
    rb"(?P<security>SQL\s+SECURITY\s+\w+\s+)?VIEW\s+" + _NAME + rb"(?:\s*\.\s*" + _NAME + rb")?",
    re.I,
)
_SET = re.compile(rb"^(?:/\*!\d*\s*)?SET\s", re.I)


class DDLParseError(ValueError):
    """A schema file could not be split: an unterminated string or comment."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(message)


def split_statements(data: bytes) -> list[tuple[int, bytes]]:
    """Split ``data`` at top-level ``;`` into (byte offset, statement) pairs, comments kept inside."""
    statements: list[tuple[int, bytes]] = []
    start = pos = 0
    n = len(data)
    while pos < n:
        m = _TOKEN.match(data, pos)
        if m is None or m.end() == pos:
            raise DDLParseError("unterminated string, identifier or comment", pos)
        if m.group() == b";":
            statements.append((start, data[start:pos]))
            start = m.end()
        pos = m.end()
    statements.append((start, data[start:]))
    result = []
    for offset, text in statements:
        body = strip_leading_comments(text)
        if body.strip():
            result.append((offset + len(text) - len(body), body.rstrip()))
    return result


def strip_leading_comments(statement: bytes) -> bytes:
    """Drop white space and plain comments in front of a statement (``/*!...*/`` is code, kept)."""
    match = _LEADING_COMMENTS.match(statement)
    assert match is not None  # the pattern matches the empty string
    return statement[match.end():]


def statement_kind(statement: bytes) -> str:
    """``create-table``, ``create-database``, ``create-view``, ``set`` or ``other``."""
    if _CREATE_TABLE.match(statement):
        return "create-table"
    if _CREATE_DATABASE.match(statement):
        return "create-database"
    if _CREATE_VIEW.match(statement):
        return "create-view"
    if _SET.match(statement):
        return "set"
    return "other"


def rewrite_create_database(statement: bytes, target: str) -> bytes:
    """``CREATE DATABASE IF NOT EXISTS `target` ...`` keeping the options that follow the name."""
    m = _CREATE_DATABASE.match(statement)
    assert m is not None
    return f"CREATE DATABASE IF NOT EXISTS {quote_identifier(target)}".encode() + statement[m.end():]


def rewrite_create_table(statement: bytes, schema: str, table: str) -> bytes:
    """``CREATE TABLE IF NOT EXISTS `schema`.`table` (...)``: the name in the file is replaced."""
    m = _CREATE_TABLE.match(statement)
    assert m is not None
    return f"CREATE TABLE IF NOT EXISTS {quote_table(schema, table)}".encode() + statement[m.end():]


def rewrite_create_view(statement: bytes, schema: str, view: str) -> bytes:
    """``CREATE OR REPLACE ... VIEW `schema`.`view` AS ...`` without the DEFINER clause.

    The definer of the source rarely exists on the target, and a view is cheap to replace.
    """
    m = _CREATE_VIEW.match(statement)
    assert m is not None
    head = b"CREATE OR REPLACE " + (m.group("algorithm") or b"") + (m.group("security") or b"")
    return head + f"VIEW {quote_table(schema, view)}".encode() + statement[m.end():]


def default_create_database(target: str) -> bytes:
    return f"CREATE DATABASE IF NOT EXISTS {quote_identifier(target)}".encode()

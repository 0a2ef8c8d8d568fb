"""Create the target databases, tables and views from the dump's schema files.

Names are rewritten to the routed targets and every CREATE gets ``IF NOT EXISTS`` (views
``OR REPLACE``), so the step is idempotent and a populated target is left as it is. Only CREATE and
session SET statements of a schema file are executed: a ``DROP TABLE`` in a dump (mydumper writes
one before each view) is never run against the target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pymysql

from ..common.dberrors import describe
from ..common.failpoint import fault_point
from ..common.quoting import quote_identifier, quote_table
from ..config.charsets import Charset
from ..errors import SchemaError, SourceError
from ..mydump.compression import open_source
from ..mydump.layout import DatabaseSource, SchemaFile, TableSource
from ..mydump.schema_charset import decode_schema_file, is_set_names
from ..mydump.schema_file import (
    DDLParseError,
    default_create_database,
    rewrite_create_database,
    rewrite_create_table,
    rewrite_create_view,
    split_statements,
    statement_kind,
)

log = logging.getLogger(__name__)


def _statements(schema_file: SchemaFile, charset: Charset) -> tuple[list[tuple[int, bytes]], bool]:
    """The file's statements, decoded to UTF-8 from ``charset``, and whether they were converted.

    Offsets are of the decoded text (the file's own when it was not converted)."""
    with open_source(schema_file.path, schema_file.compression, opener=schema_file.opener) as stream:
        data = stream.read()
    data, converted = decode_schema_file(data, charset, schema_file.relative)
    try:
        return split_statements(data), converted
    except DDLParseError as exc:
        raise SourceError(str(exc), path=schema_file.relative, offset=exc.offset) from None


def _run_file(cur: Any, schema_file: SchemaFile, want: str, rewrite: Callable[[bytes], bytes], what: str,
              charset: Charset) -> bool:
    """Execute the SET statements and the rewritten CREATE of kind ``want``; True if one was found.

    A file converted from another character set runs under ``utf8mb4`` without its own ``SET NAMES``."""
    found = False
    try:
        statements, converted = _statements(schema_file, charset)
        for offset, statement in statements:
            kind = statement_kind(statement)
            if kind == "set" and converted and is_set_names(statement):
                log.debug("%s: skipping %.60r: the file was converted to UTF-8", schema_file.relative, statement)
            elif kind == "set":
                cur.execute(statement)
            elif kind == want and not found:
                cur.execute(rewrite(statement))
                found = True
            else:
                log.debug("%s: skipping statement at byte offset %d: %.60r", schema_file.relative, offset, statement)
    except pymysql.err.MySQLError as exc:
        raise SchemaError(f"creating from {schema_file.relative} failed: {describe(exc)}", table=what) from exc
    finally:
        cur.execute("SET NAMES utf8mb4")
    return found


def create_database(cur: Any, database: DatabaseSource, charset: Charset = Charset.AUTO) -> None:
    """``CREATE DATABASE IF NOT EXISTS`` the target, with the options of the dump's schema-create file."""
    target = database.target_schema
    if database.schema_file is None:
        try:
            cur.execute(default_create_database(target))
        except pymysql.err.MySQLError as exc:
            raise SchemaError(f"creating database failed: {describe(exc)}", table=target) from exc
    elif not _run_file(cur, database.schema_file, "create-database",
                       lambda s: rewrite_create_database(s, target), target, charset):
        raise SchemaError(f"{database.schema_file.relative} holds no CREATE DATABASE statement", table=target)
    fault_point("schema-created")


def create_table(cur: Any, table: TableSource, charset: Charset = Charset.AUTO) -> None:
    """``CREATE TABLE IF NOT EXISTS`` the routed target from the table's schema file."""
    name = quote_table(table.target_schema, table.target_table)
    if table.schema_file is None:
        if not table_exists(cur, table.target_schema, table.target_table):
            raise SchemaError(
                f"no schema file in the dump for source table {table.source_schema}.{table.source_table} "
                f"(expected {table.source_schema}.{table.source_table}-schema.sql) and the target table does not "
                "exist; add the schema file, or create the table and set mydumper.no-schema = true",
                table=name,
            )
        return
    if not _run_file(cur, table.schema_file, "create-table",
                     lambda s: rewrite_create_table(s, table.target_schema, table.target_table), name, charset):
        raise SchemaError(f"{table.schema_file.relative} holds no CREATE TABLE statement", table=name)
    fault_point("schema-created")


def create_view(cur: Any, view: TableSource, charset: Charset = Charset.AUTO) -> None:
    """``CREATE OR REPLACE VIEW`` from a ``-schema-view.sql`` file (after the tables have their data)."""
    name = quote_table(view.target_schema, view.target_table)
    assert view.schema_file is not None
    # mydumper writes the view's body with unqualified table names: they live in the view's database.
    cur.execute(f"USE {quote_identifier(view.target_schema)}")
    if not _run_file(cur, view.schema_file, "create-view",
                     lambda s: rewrite_create_view(s, view.target_schema, view.target_table), name, charset):
        raise SchemaError(f"{view.schema_file.relative} holds no CREATE VIEW statement", table=name)
    fault_point("schema-created")


def table_exists(cur: Any, schema: str, table: str) -> bool:
    cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (schema, table))
    return cur.fetchone() is not None


def table_columns(cur: Any, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, DATA_TYPE) of the target table's columns, in table order."""
    cur.execute(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
        (schema, table),
    )
    return [(_text(name), _text(data_type)) for name, data_type in cur.fetchall()]


def table_identity(cur: Any, schema: str, table: str) -> str:
    """Something that changes when the table is dropped and created again ("" if it does not exist).

    TiDB has a table id; InnoDB on MariaDB / MySQL has one in its system tables; the creation time
    is the fallback everywhere.
    """
    probes = (
        ("SELECT TIDB_TABLE_ID FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
         (schema, table)),
        ("SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = %s", (f"{schema}/{table}",)),
        ("SELECT TABLE_ID FROM information_schema.INNODB_TABLES WHERE NAME = %s", (f"{schema}/{table}",)),
    )
    for sql, args in probes:
        try:
            cur.execute(sql, args)
        except pymysql.err.MySQLError:
            continue
        row = cur.fetchone()
        if row and row[0] is not None:
            return f"id:{row[0]}"
    cur.execute("SELECT CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (schema, table))
    row = cur.fetchone()
    return f"created:{row[0]}" if row else ""


def _text(value: str | bytes) -> str:
    """information_schema values arrive as bytes on some servers and connection charsets."""
    return value.decode() if isinstance(value, bytes) else value

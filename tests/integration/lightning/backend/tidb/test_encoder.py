"""RowEncoder literals: fast path, escaping in both sql_modes, binary/bit kinds, server round trip."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder, column_kind

AWKWARD_VALUES = [b"a'b", b"back\\slash", b"nul\x00x", b"nl\nr\r", b"z\x1a", b"\xff\xfe", b'"dq"', b"''", b"\\'"]


def test_fast_path_and_null() -> None:
    enc = RowEncoder(None, no_backslash_escapes=False)
    assert enc.encode([b"1", b"abc", b""]) == b"('1','abc','')"
    assert enc.encode([b"1", None]) == b"('1',NULL)"


def test_backslash_escaping() -> None:
    enc = RowEncoder(None, no_backslash_escapes=False)
    assert enc.encode([b"a'b\\c", b"\x00\n\r\x1a"]) == b"('a\\'b\\\\c','\\0\\n\\r\\Z')"


def test_no_backslash_escapes_only_doubles_quotes() -> None:
    enc = RowEncoder(None, no_backslash_escapes=True)
    assert enc.encode([b"a'b\\c", b"\x00\n"]) == b"('a''b\\c','\x00\n')"


def test_kinds() -> None:
    enc = RowEncoder(["binary", "bit", "bit", "bit", "number", "string"], no_backslash_escapes=False)
    assert not enc.all_quoted
    assert enc.encode([b"\x00'", b"5", b"b'101'", b"\x07", b"-1.500", None]) == (
        b"(x'0027',5,b'101',x'07','-1.500',NULL)"
    )


@pytest.mark.parametrize(
    ("data_type", "kind"),
    [
        ("VARBINARY", "binary"),
        ("longblob", "binary"),
        ("bit", "bit"),
        ("decimal", "number"),
        ("bigint", "number"),
        ("varchar", "string"),
        ("json", "string"),
        ("datetime", "string"),
        ("point", "binary"),
    ],
)
def test_column_kind(data_type: str, kind: str) -> None:
    assert column_kind(data_type) == kind


@pytest.mark.parametrize("no_backslash_escapes", [False, True])
def test_round_trip_through_server(db_server, no_backslash_escapes: bool) -> None:  # noqa: ANN001
    """SELECT of each encoded literal returns the original bytes."""
    enc = RowEncoder(["binary"] + ["string"] * len(AWKWARD_VALUES), no_backslash_escapes=no_backslash_escapes)
    row = enc.encode([b"\x00\xff", *AWKWARD_VALUES])
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = %s", ("NO_BACKSLASH_ESCAPES" if no_backslash_escapes else "",))
        cur.execute("SET NAMES binary")
        cur.execute(b"SELECT " + row[1:-1])
        got = cur.fetchone()
    assert [v if isinstance(v, bytes) else v.encode("latin-1") for v in got] == [b"\x00\xff", *AWKWARD_VALUES]

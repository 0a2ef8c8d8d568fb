"""Property tests: the SQL reader's fast path and its careful path (the reference) agree.

On random well-formed dumps both give the same rows, offsets, batch cuts and resume positions;
on random damage (a byte dropped, doubled or replaced) both fail with the same located error, or
both read the same rows. ``SQLReader(fast=False)`` is the careful path alone.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader, fast_rows

NUMBERS = st.sampled_from([b"1", b"-2.5", b"0", b"1e3", b"NULL", b"0xAB", b"x'00ff'", b"b'101'", b"TRUE", b"0b1"])
STRING_TEXT = st.lists(
    st.sampled_from([b"a", b" ", b",", b"(", b")", b";", b"\n", b"\\\\", b"\\'", b'\\"', b"''", b'""', b"`",
                     b"),\n(", b"\xc3\xa9", b"\x00"]),
    max_size=6,
).map(b"".join)


@st.composite
def strings(draw: st.DrawFn) -> bytes:
    quote = draw(st.sampled_from([b"'", b'"']))
    text = draw(STRING_TEXT)
    # A quote of the other kind is plain text inside; one of the same kind must be doubled or escaped.
    other = b'"' if quote == b"'" else b"'"
    text = text.replace(b"''", other + other) if quote == b'"' else text.replace(b'""', other + other)
    return quote + text + quote


VALUES = st.one_of(NUMBERS, strings(), st.builds(lambda s: b"CONVERT(" + s + b" USING utf8mb4)", strings()))
ROWS = st.lists(VALUES, min_size=1, max_size=4).map(lambda vs: b"(" + b",".join(vs) + b")")
SEPARATORS = st.sampled_from([b",\n", b",\n", b",\n", b",", b" , ", b",\n/* c */ "])
HEADERS = st.sampled_from([b"INSERT INTO `t` VALUES\n", b"INSERT INTO `t` (`a`,`b`) VALUES\n",
                           b"REPLACE INTO t VALUES ", b"insert ignore into `d`.`t` values"])
PREAMBLES = st.sampled_from([b"", b"/*!40101 SET NAMES binary*/;\n", b"-- x\n", b"SET @a = 'x;y';\n"])


@st.composite
def statements(draw: st.DrawFn) -> bytes:
    rows = draw(st.lists(ROWS, min_size=1, max_size=12))
    body = rows[0]
    for row in rows[1:]:
        body += draw(SEPARATORS) + row
    return draw(PREAMBLES) + draw(HEADERS) + body + draw(st.sampled_from([b";\n", b";", b" ;\n"]))


DUMPS = st.lists(statements(), min_size=1, max_size=4).map(b"".join)
LIMITS = st.tuples(st.integers(1, 400), st.integers(1, 20), st.sampled_from([1, 7, 64, 1 << 16]))


def outcome(data: bytes, fast: bool, max_bytes: int, max_rows: int, block_size: int, **kwargs):  # noqa: ANN003, ANN201
    """Every batch (columns, rows, offsets, end), or the error's (message, path, offset)."""
    try:
        reader = SQLReader(io.BytesIO(data), path="t.sql", block_size=block_size, fast=fast, **kwargs)
        return [(b.columns, b.rows, b.offsets, b.nbytes, b.end) for b in reader.batches(max_bytes, max_rows)]
    except SourceError as exc:
        return exc.reason, exc.path, exc.offset


# What the fast path leaves to the server: an empty value, a lone "." or "-.", a number with two dots.
DEGENERATE = re.compile(rb"[(,]-?\.?[,)]|\.[0-9]*+\.")

SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(DUMPS, LIMITS)
def test_paths_agree_on_valid_dumps(data: bytes, limits: tuple[int, int, int]) -> None:
    careful = outcome(data, False, *limits)
    assert isinstance(careful, list), careful
    assert outcome(data, True, *limits) == careful
    rows = [row for batch in careful for row in batch[1]]
    offsets = [off for batch in careful for off in batch[2]]
    assert [data[o : o + len(r)] for r, o in zip(rows, offsets, strict=True)] == rows  # literals go verbatim


@SETTINGS
@given(DUMPS, LIMITS, st.data())
def test_resume_positions_agree(data: bytes, limits: tuple[int, int, int], draw: st.DataObject) -> None:
    batches = outcome(data, True, *limits)
    assert isinstance(batches, list)
    index = draw.draw(st.integers(0, len(batches) - 1))
    end = batches[index][4]
    stream = io.BytesIO(data)
    stream.seek(end.offset)
    rest = [(b.columns, b.rows, b.offsets, b.nbytes, b.end) for b in
            SQLReader(stream, path="t.sql", resume=end, block_size=limits[2], fast=False).batches(*limits[:2])]
    assert rest == batches[index + 1 :]


@SETTINGS
@given(DUMPS, LIMITS, st.data())
def test_paths_agree_on_damaged_dumps(data: bytes, limits: tuple[int, int, int], draw: st.DataObject) -> None:
    at = draw.draw(st.integers(0, len(data) - 1))
    damage = draw.draw(st.sampled_from([b"", b"'", b'"', b"(", b")", b";", b",", b"\\", data[at : at + 1] * 2]))
    broken = data[:at] + damage + data[at + 1 :]
    careful = outcome(broken, False, *limits)
    fast = outcome(broken, True, *limits)
    if fast != careful and isinstance(fast, list):
        # A degenerate number (``1..2``, ``(1,,2)``) is the server's to refuse: the fast path sends it
        # verbatim, the careful path quotes the word or refuses the empty value.
        assert any(DEGENERATE.search(r) for b in fast for r in b[1]), (fast, careful)
        return
    assert fast == careful
    if not isinstance(careful, list):
        assert careful[1] == "t.sql" and 0 <= careful[2] <= len(broken)


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"INSERT INTO t VALUES (1,'a'),\n(2,'b),\n(3,'c');\n", "unterminated string", 30),
        (b"INSERT INTO t VALUES (1,'a'),\n(2,'b'),\n(3,'c);\n", "unterminated string", 39),
        (b"INSERT INTO t VALUES (1,'a'),\n(2,(('b')),\n(3,'c');\n", "malformed row tuple", 30),
        (b"INSERT INTO t VALUES (1,'a'),\n(2,'b')),\n(3,'c');\n", "expected ',' or ';'", 37),
    ],
)
def test_invalid_input_is_the_careful_paths_error(data: bytes, message: str, offset: int) -> None:
    for fast in (False, True):
        result = outcome(data, fast, 1 << 20, 1 << 20, 1 << 20)
        assert result[0].startswith(message) and result[1:] == ("t.sql", offset), (fast, result)


def test_fast_rows_proves_plain_lines_and_declines_the_rest() -> None:
    buf = b'(1,"a;b"),\n(2,"c"),\n(3,"d");\n'
    run = fast_rows(buf, 0, 1 << 20, 100)
    assert (run.end, run.rows, run.statement_ends) == (buf.index(b";\n"), 3, True)
    # An escape in the second row: the first row is proved, the rest left to the careful path.
    escaped = b'(1,"a"),\n(2,"\\""),\n(3,"d");\n'
    run = fast_rows(escaped, 0, 1 << 20, 100)
    assert (run.end, run.rows, run.statement_ends, run.full) == (escaped.index(b",\n(2"), 1, False, False)
    assert run.careful_until == escaped.index(b"\n(3")
    run = fast_rows(escaped, run.end + 2, 1 << 20, 100)
    assert run.rows == 0 and run.careful_until == escaped.index(b"\n(3")
    # Greedy cut: rows of 9, 7 and 7 bytes; a budget of 22 takes two.
    assert fast_rows(buf, 0, 22, 100).rows == 2


def test_fast_rows_keeps_max_rows_before_an_odd_row() -> None:
    """Found by the property test: the rows proved before an escape still obey ``max_rows``."""
    buf = b'(1),\n(1),\n(1),\n("\\"");\n'
    run = fast_rows(buf, 0, 1 << 20, 2)
    assert (run.end, run.rows, run.full) == (buf.index(b",\n(1),\n(\""), 2, True)


def test_fast_rows_proves_strings_of_any_bytes() -> None:
    """The proof reads bytes, not UTF-8: a GBK or binary string is as plain as an ASCII one."""
    buf = b"(1,'\xff\xfe\x80\xd6\xd0'),\n(2,'\xc3\xa9',NULL);\n"
    run = fast_rows(buf, 0, 1 << 20, 100)
    assert (run.rows, run.statement_ends) == (2, True)

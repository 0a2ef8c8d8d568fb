"""Which SQL batches ``SQLRows`` lets go as LOAD DATA: its one-pass check agrees with a plain field-by-field
reading of the rows (a property test over rows the SQL reader's fast path read), and the statement's text."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb.sql_load_data import (
    SQLRows,
    number_class,
    sql_load_statement,
)
from airflow_provider_tidb_lightning.lightning.common.linear_regex import PatternTooLarge
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition, RowBatch
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader
from tests.support.sql_fields import row_fields

TYPES = ("int", "decimal", "double", "varchar", "year", "date")
CLASSES = [number_class(t) for t in TYPES]
STATEMENTS = {b"'": b"single", b'"': b"double"}
# The reference reading: each field a string, NULL, or a number of the classes it fits (an integer or a
# decimal with a run of more than 30 digits is a literal INSERT might read as a DOUBLE).
_INTEGER = re.compile(rb"-?[0-9]{1,30}")
_DECIMAL = re.compile(rb"-?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})")


def _fits(field: bytes, kind: str | None) -> bool:
    if field[:1] in (b"'", b'"') or field == b"NULL":
        return True
    if kind == "integer":
        return _INTEGER.fullmatch(field) is not None
    if kind == "decimal":
        return _DECIMAL.fullmatch(field) is not None
    return kind == "float"


_NUMBER = st.one_of(
    st.integers(-(10**20), 10**20).map(lambda n: str(n).encode()),
    st.from_regex(rb"\A-?(?:[0-9]{1,34}(?:\.[0-9]{0,3})?|\.[0-9]{1,3})(?:[eE][-+]?[0-9]{1,3})?\Z"),
)


@st.composite
def _rows(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    quote = draw(st.sampled_from([b"'", b'"']))
    text = st.text("aN.eE,UL x" + quote.decode(), max_size=6).map(
        lambda t: quote + t.encode().replace(quote, quote + quote) + quote)
    value = st.one_of(st.just(b"NULL"), _NUMBER, text)
    width = draw(st.sampled_from([len(TYPES)] * 4 + [len(TYPES) - 1, len(TYPES) + 1]))
    rows = [b"(" + b",".join(draw(value) for _ in range(width)) + b")" for _ in range(draw(st.integers(1, 5)))]
    return quote, rows


@settings(max_examples=400)
@given(_rows())
def test_the_check_agrees_with_reading_each_field(quote_rows: tuple[bytes, list[bytes]]) -> None:
    quote, rows = quote_rows
    data = b"INSERT INTO `t` VALUES\n" + b",\n".join(rows) + b";\n"
    (batch,) = SQLReader(io.BytesIO(data), path="t.sql").batches(1 << 20, 1 << 20)
    assert batch.proved is not None  # the fast path read these rows
    fields = [row_fields(row) for row in rows]
    expected = all(len(f) == len(TYPES) and all(map(_fits, f, CLASSES)) for f in fields)
    request = SQLRows(STATEMENTS, CLASSES).request(batch)
    assert (request is not None) == expected
    if request is not None:
        statement = STATEMENTS[b'"' if b'"' in data else b"'"]
        assert request == (statement, b",\n".join(rows) + b",\n")


def test_only_batches_the_fast_path_read_whole_qualify() -> None:
    rows = SQLRows(STATEMENTS, CLASSES)
    proved = RowBatch.from_pieces(None, [(b"(1,2.5,1e5,'a','1999',NULL)", 0, 1)], ReadPosition(40), proved=True)
    assert rows.request(proved) == (b"single", b"(1,2.5,1e5,'a','1999',NULL),\n")
    careful = RowBatch(None, [b"(1,2.5,1e5,'a','1999',NULL)"], [0], ReadPosition(40), 30)
    assert rows.request(careful) is None


def test_the_statement_reads_the_rows_as_they_are() -> None:
    assert sql_load_statement("replace", "db", "t", ("a", "b`c"), "binary", b"'") == (
        b"LOAD DATA LOCAL INFILE 'lightning-batch' REPLACE INTO TABLE `db`.`t` CHARACTER SET binary "
        b"FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '''' ESCAPED BY '' "
        b"LINES STARTING BY '(' TERMINATED BY '),\n' (`a`,`b``c`)")
    assert b"OPTIONALLY ENCLOSED BY '\"' ESCAPED BY ''" in sql_load_statement("error", "db", "t", None, "utf8mb4",
                                                                              b'"')


def test_a_wide_table_is_checked_and_one_too_wide_for_re2_is_refused_clearly(capfd: pytest.CaptureFixture[str]) -> None:
    """1,000 DECIMAL columns (near InnoDB's limit of 1,017) are checked, RE2 leaving its DFA for the slower NFA
    without a word on standard error; TiDB's 4,096 are refused with PatternTooLarge (the importer then sends
    that table's batches as INSERT)."""
    wide = SQLRows(STATEMENTS, ["decimal"] * 1000)
    row = b"(" + b",".join([b"12345678901.25"] * 1000) + b")"
    batch = RowBatch.from_pieces(None, [(row + b",\n" + row, 0, 2)], ReadPosition(len(row) * 2 + 2), proved=True)
    assert wide.request(batch) == (b"single", row + b",\n" + row + b",\n")
    with pytest.raises(PatternTooLarge):
        SQLRows(STATEMENTS, ["decimal"] * 4096)
    assert capfd.readouterr().err == ""

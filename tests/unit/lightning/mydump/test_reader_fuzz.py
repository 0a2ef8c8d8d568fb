"""Fuzzing the readers with random and mutated bytes: a reader either reads rows or raises a
:class:`SourceError` naming the file and an offset inside it -- never another exception -- and every
row it hands on is one of the input's rows: a SQL tuple of literals only (re-reading it gives it
back), at an offset where the input has that tuple; a CSV row at the offset of one of its lines.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader

FUZZ = settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SQL_SEED = (b"/*!40101 SET NAMES binary*/;\nINSERT INTO `t` (`a`,`b`) VALUES\n(1,'x\\'y',NULL),\n"
            b"(-2.5e3,\"q\"\"r\",0x1F),\n(3,CONVERT('{}' USING utf8mb4),word);\n(4,'z');\nCOMMIT;\n")
CSV_SEED = b'id,name\n1,"a,b"\n2,"say ""hi"""\n3,\\N\n4,back\\\\slash\n'
# Bytes that matter to the grammars, and some that do not.
ALPHABET = st.sampled_from(list(b"()'\",;\\`/*-#\n\r \t0123456789.eExXbBNULabc@+|\x00\x80\xc3"))


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes dropped, doubled, replaced or inserted."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["drop", "double", "replace", "insert"]))
        byte = draw(ALPHABET)
        if op == "insert" or at == len(data):
            data[at:at] = bytes([byte])
        elif op == "drop":
            del data[at]
        elif op == "double":
            data[at:at] = data[at : at + 1]
        else:
            data[at] = byte
    return bytes(data)


SQL_INPUTS = st.one_of(st.binary(max_size=200), st.lists(ALPHABET, max_size=120).map(bytes), mutated(SQL_SEED))
CSV_INPUTS = st.one_of(st.binary(max_size=200), st.lists(ALPHABET, max_size=120).map(bytes), mutated(CSV_SEED))


Located = tuple[str, str | None, int | None]


def located(exc: SourceError) -> Located:
    return exc.reason, exc.path, exc.offset


def sql_rows(data: bytes, fast: bool, block_size: int) -> list[tuple[bytes, int]] | Located:
    try:
        reader = SQLReader(io.BytesIO(data), path="f.sql", block_size=block_size, fast=fast)
        return [(row, off) for b in reader.batches(300, 7) for row, off in zip(b.rows, b.offsets, strict=True)]
    except SourceError as exc:
        return located(exc)


@FUZZ
@given(SQL_INPUTS, st.sampled_from([1, 16, 1 << 16]), st.booleans())
def test_sql_reader_reads_rows_of_the_input_or_fails_located(data: bytes, block_size: int, fast: bool) -> None:
    result = sql_rows(data, fast, block_size)
    if isinstance(result, tuple):
        _, path, offset = result
        assert path == "f.sql" and offset is not None and 0 <= offset <= len(data)
        return
    for row, offset in result:
        assert data[offset : offset + 1] == b"("
        if data[offset : offset + len(row)] != row:  # a word sent as a string, or a string re-encoded
            assert not fast or sql_rows(data, False, block_size) == result
        # Only literals: the row, read again, is itself.
        again = sql_rows(b"INSERT INTO t VALUES " + row + b";", False, 1 << 16)
        assert isinstance(again, list) and [r for r, _ in again] == [row], (row, again)


def csv_rows(data: bytes, csv: CSVSection, fast: bool) -> list[tuple[bytes, int]] | Located:
    try:
        reader = CSVReader(io.BytesIO(data), path="f.csv", csv=csv, columns=None,
                           encoder=RowEncoder(None, no_backslash_escapes=False), block_size=16, fast=fast)
        return [(row, off) for b in reader.batches(300, 7) for row, off in zip(b.rows, b.offsets, strict=True)]
    except SourceError as exc:
        return located(exc)


CSV_CONFIGS = st.sampled_from([CSVSection(header=True), CSVSection(header=False, separator="|", delimiter=""),
                               CSVSection(header=False, backslash_escape=False, null=("NULL",))])


@FUZZ
@given(CSV_INPUTS, CSV_CONFIGS)
def test_csv_reader_reads_records_of_the_input_or_fails_located(data: bytes, csv: CSVSection) -> None:
    result = csv_rows(data, csv, fast=True)
    assert result == csv_rows(data, csv, fast=False)
    if isinstance(result, tuple):
        _, path, offset = result
        assert path == "f.csv" and offset is not None and 0 <= offset <= len(data)
        return
    offsets = [off for _, off in result]
    assert offsets == sorted(set(offsets))
    line_starts = {0} | {i + 1 for i, c in enumerate(data) if c in b"\r\n"}
    assert set(offsets) <= line_starts
    for row, _ in result:
        assert row.startswith(b"(") and row.endswith(b")")

"""CSVReader: the .tbl sample, every CSVSection option, block boundaries, resume and errors."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.encode.literals import RowEncoder
from airflow_provider_tidb_lightning.errors import SourceError
from airflow_provider_tidb_lightning.source.csv_reader import CSVReader, RowShapeError, read_csv_header
from airflow_provider_tidb_lightning.source.rows import RowBatch

TBL = CSVSection(separator="|", delimiter="", header=False, trim_last_separator=True)
PLAIN = RowEncoder(None, no_backslash_escapes=False)


def read_all(
    data: bytes,
    csv: CSVSection,
    *,
    columns: tuple[str, ...] | None = None,
    encoder: RowEncoder = PLAIN,
    max_bytes: int = 1 << 20,
    max_rows: int = 1 << 20,
    block_size: int = 1 << 20,
    start: int = 0,
    end: int | None = None,
) -> list[RowBatch]:
    stream = io.BytesIO(data)
    stream.seek(start)
    reader = CSVReader(
        stream,
        path="t.csv",
        csv=csv,
        start=start,
        end=end,
        columns=columns,
        encoder=encoder,
        block_size=block_size,
    )
    return list(reader.batches(max_bytes, max_rows))


def rows_of(batches: list[RowBatch]) -> list[bytes]:
    return [row for b in batches for row in b.rows]


def flat(batches: list[RowBatch]) -> list[tuple[bytes, int]]:
    return [pair for b in batches for pair in zip(b.rows, b.offsets, strict=True)]


def test_tbl_lineitem(sample_dir: Path) -> None:
    data = (sample_dir / "tbl" / "lineitem.tbl").read_bytes()
    columns = tuple(f"c{i}" for i in range(16))
    batches = read_all(data, TBL, columns=columns, max_bytes=96 * 1024, max_rows=65536)
    rows = rows_of(batches)
    assert len(rows) == 60175
    assert rows[0] == (
        b"('1','1552','93','1','17','24710.35','0.04','0.02','N','O','1996-03-13','1996-02-12',"
        b"'1996-03-22','DELIVER IN PERSON','TRUCK','egular courts above the')"
    )
    assert all(b.columns == columns for b in batches)
    assert batches[-1].end.offset == len(data)
    # Offsets are line starts.
    lines = data.split(b"\n")
    starts = [0]
    for line in lines[:-2]:
        starts.append(starts[-1] + len(line) + 1)
    assert [off for _, off in flat(batches)] == starts
    assert all(b.nbytes == sum(map(len, b.rows)) and b.nbytes <= 96 * 1024 for b in batches)


def test_tbl_all_tables(sample_dir: Path) -> None:
    expected = {
        "nation": 25,
        "region": 5,
        "part": 2000,
        "supplier": 100,
        "partsupp": 8000,
        "customer": 1500,
        "orders": 15000,
        "lineitem": 60175,
    }
    found = {p.stem: len(rows_of(read_all(p.read_bytes(), TBL))) for p in (sample_dir / "tbl").glob("*.tbl")}
    assert found == expected


def test_paths_agree_on_sample(sample_dir: Path) -> None:
    """Block path, line path (tiny blocks) and careful path (quoting enabled) give the same rows."""
    data = (sample_dir / "tbl" / "orders.tbl").read_bytes()[:200_000]
    data = data[: data.rindex(b"\n") + 1]
    fast = read_all(data, TBL, max_bytes=30_000, max_rows=500)
    tiny = read_all(data, TBL, max_bytes=30_000, max_rows=500, block_size=7)
    quoted = read_all(data, replace(TBL, delimiter='"'), max_bytes=30_000, max_rows=500)
    assert flat(fast) == flat(tiny) == flat(quoted)
    assert [b.end for b in fast] == [b.end for b in tiny]


DEFAULT = CSVSection(header=False)


@pytest.mark.parametrize(
    ("csv", "data", "expected"),
    [
        # Quoted fields with separators, newlines, doubled delimiters; \r\n lines.
        (DEFAULT, b'1,"a,b","x\ny"\r\n2,"say ""hi""",\r\n', [b"('1','a,b','x\\ny')", b"('2','say \"hi\"','')"]),
        # Backslash escapes, in and out of quotes.
        (DEFAULT, b'a\\,b,"c\\"d",\\t\\0\\Z\\\\\n', [b"('a,b','c\"d','\t\\0\\Z\\\\')"]),
        # \N is NULL even quoted; \\N is text; "NULL" is text with the default null list.
        (DEFAULT, b'\\N,"\\N",\\\\N,NULL\n', [b"(NULL,NULL,'\\\\N','NULL')"]),
        (replace(DEFAULT, null=("NULL", "")), b'NULL,"NULL",,x\n', [b"(NULL,NULL,NULL,'x')"]),
        (replace(DEFAULT, not_null=True), b"\\N,\n", [b"('N','')"]),
        # Without backslash-escape a backslash is data and \N compares literally.
        (replace(DEFAULT, backslash_escape=False), b'a\\b,\\N,"q\\"\n', [b"('a\\\\b',NULL,'q\\\\')"]),
        # No quoting: delimiters are data.
        (replace(DEFAULT, delimiter=""), b'"a",b"\n', [b"('\"a\"','b\"')"]),
        # Multi-character separator and custom terminator.
        (replace(DEFAULT, separator="||", terminator="$$"), b"a||b|c$$d||e$$", [b"('a','b|c')", b"('d','e')"]),
        (replace(DEFAULT, terminator="\n"), b"a,b\rc\n", [b"('a','b\\rc')"]),
        # Bare \r terminators, empty lines skipped, last line without terminator.
        (DEFAULT, b"a,b\r\rc,d\n\ne,f", [b"('a','b')", b"('c','d')", b"('e','f')"]),
        # trim-last-separator drops exactly one trailing separator.
        (replace(DEFAULT, trim_last_separator=True), b"a,b,\nc,,\n", [b"('a','b')", b"('c','')"]),
        # Quotes inside a field are SQL-escaped.
        (DEFAULT, b"it's,x\n", [b"('it\\'s','x')"]),
    ],
)
@pytest.mark.parametrize("block_size", [1, 5, 1 << 20])
def test_options_matrix(csv: CSVSection, data: bytes, expected: list[bytes], block_size: int) -> None:
    assert rows_of(read_all(data, csv, block_size=block_size)) == expected


def test_header_read_and_skipped() -> None:
    csv = CSVSection()
    data = b'\xef\xbb\xbf"id",name\n1,a\n2,b\n'
    columns, header_end = read_csv_header(io.BytesIO(data), path="t.csv", csv=csv)
    assert columns == ("id", "name")
    assert data[header_end:] == b"1,a\n2,b\n"
    assert rows_of(read_all(data, csv)) == [b"('1','a')", b"('2','b')"]
    assert rows_of(read_all(data, csv, start=header_end)) == [b"('1','a')", b"('2','b')"]
    with pytest.raises(SourceError, match="empty CSV"):
        read_csv_header(io.BytesIO(b""), path="t.csv", csv=csv)


def test_encoder_kinds_are_used() -> None:
    enc = RowEncoder(["number", "binary", "bit"], no_backslash_escapes=False)
    assert rows_of(read_all(b"1.50,ab,5\n", DEFAULT, encoder=enc)) == [b"('1.50',x'6162',5)"]


def test_wrong_field_count_is_row_shape_error() -> None:
    data = b"1,a\n2,b,c\n"
    with pytest.raises(RowShapeError, match="expected 2 fields, found 3") as info:
        read_all(data, DEFAULT, columns=("id", "name"))
    assert info.value.offset == 4
    # Also on the block path.
    tbl = b"1|a|\n2|b|\n3|\n"
    with pytest.raises(RowShapeError) as info:
        read_all(tbl, TBL, columns=("id", "name"))
    assert info.value.offset == 10


@pytest.mark.parametrize("block_size", [2, 1 << 20])
def test_errors(block_size: int) -> None:
    with pytest.raises(SourceError, match="unterminated quoted field") as info:
        read_all(b'1,a\n2,"open\n', DEFAULT, block_size=block_size)
    assert info.value.offset == 4
    with pytest.raises(SourceError, match="unexpected data after field") as info:
        read_all(b'1,"a"b\n', DEFAULT, block_size=block_size)
    assert info.value.offset == 5


def test_resume_and_chunk_end(sample_dir: Path) -> None:
    data = (sample_dir / "tbl" / "customer.tbl").read_bytes()
    batches = read_all(data, TBL, max_bytes=20_000)
    everything = flat(batches)
    seen = 0
    for b in batches:
        seen += len(b.rows)
        assert flat(read_all(data, TBL, max_bytes=20_000, start=b.end.offset)) == everything[seen:]
    # Line-aligned chunks: records starting before `end` belong to the chunk.
    middle = data.index(b"\n", len(data) // 2) + 1
    head = flat(read_all(data, TBL, end=middle - 3))
    tail = flat(read_all(data, TBL, start=middle))
    assert head + tail == everything
    assert tail[0][1] == middle


def test_mixed_paths_with_tiny_blocks() -> None:
    data = b'1,plain\n2,"quoted, with sep"\n3,\\N\n4,"multi\r\nline"\n5,last\n' * 20
    expected = rows_of(read_all(data, DEFAULT))
    assert len(expected) == 100
    assert expected[1] == b"('2','quoted, with sep')"
    assert expected[3] == b"('4','multi\\r\\nline')"
    for block_size in (1, 3, 17):
        assert flat(read_all(data, DEFAULT, block_size=block_size, max_rows=7)) == flat(
            read_all(data, DEFAULT, max_rows=7)
        )

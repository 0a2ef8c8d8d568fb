"""CSVReader: the .tbl sample, every CSVSection option, block boundaries, resume and errors."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader, RowShapeError, read_csv_header
from airflow_provider_tidb_lightning.lightning.mydump.rows import RowBatch
from tests.support.counting_stream import CountingStream

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


def test_tbl_lineitem(tpch_tbl_dir: Path) -> None:
    data = (tpch_tbl_dir / "lineitem.tbl").read_bytes()
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


def test_tbl_all_tables(tpch_tbl_dir: Path) -> None:
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
    found = {p.stem: len(rows_of(read_all(p.read_bytes(), TBL))) for p in tpch_tbl_dir.glob("*.tbl")}
    assert found == expected


def test_paths_agree_on_sample(tpch_tbl_dir: Path) -> None:
    """Fast path (large and tiny blocks, quoting enabled) and careful path give the same rows."""
    data = (tpch_tbl_dir / "orders.tbl").read_bytes()[:200_000]
    data = data[: data.rindex(b"\n") + 1]
    fast = read_all(data, TBL, max_bytes=30_000, max_rows=500)
    tiny = read_all(data, TBL, max_bytes=30_000, max_rows=500, block_size=7)
    quoted = read_all(data, replace(TBL, delimiter='"'), max_bytes=30_000, max_rows=500)
    careful = read_careful(data, TBL, max_bytes=30_000, max_rows=500)
    assert flat(fast) == flat(tiny) == flat(quoted) == flat(careful)
    assert [b.end for b in fast] == [b.end for b in tiny] == [b.end for b in careful]


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
    # A file without any record has no header and no rows (tidb-lightning imports nothing from it).
    for empty in (b"", b"\xef\xbb\xbf", b"\n\n"):
        assert read_csv_header(io.BytesIO(empty), path="t.csv", csv=csv) == ((), len(empty))
        assert rows_of(read_all(empty, csv)) == []


def test_encoder_kinds_are_used() -> None:
    enc = RowEncoder(["number", "binary", "bit"], no_backslash_escapes=False)
    assert rows_of(read_all(b"1.50,ab,5\n", DEFAULT, encoder=enc)) == [b"('1.50',x'6162',5)"]


def test_wrong_field_count_is_row_shape_error() -> None:
    data = b"1,a\n2,b,c\n"
    with pytest.raises(RowShapeError, match="expected 2 fields, found 3") as info:
        read_all(data, DEFAULT, columns=("id", "name"))
    assert info.value.offset == 4
    # Also on the fast path.
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


def test_resume_and_chunk_end(tpch_tbl_dir: Path) -> None:
    data = (tpch_tbl_dir / "customer.tbl").read_bytes()
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


# --- quoted runs on the fast path: identical to the careful path ---------------------------------------------


def read_careful(data: bytes, csv: CSVSection, **kwargs) -> list[RowBatch]:  # noqa: ANN003
    """Like :func:`read_all` with the fast path switched off: the careful path only."""
    stream = io.BytesIO(data)
    reader = CSVReader(stream, path="t.csv", csv=csv, columns=kwargs.pop("columns", None),
                       encoder=kwargs.pop("encoder", PLAIN), block_size=kwargs.pop("block_size", 1 << 20), fast=False)
    return list(reader.batches(kwargs.pop("max_bytes", 1 << 20), kwargs.pop("max_rows", 1 << 20)))


def outcome(read, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """(rows with offsets, batch ends) or (error type, message without the data it quotes, offset)."""
    try:
        batches = read(*args, **kwargs)
    except SourceError as exc:
        return type(exc).__name__, exc.reason.split(":")[0], exc.offset
    return flat(batches), [b.end.offset for b in batches]


# Fields as written in the file: S = separator, Q = delimiter. Plain ones (fast path material),
# tricky ones (separators/newlines/doubled delimiters/escapes/NULL texts/SQL specials) and broken
# records (a stray delimiter, a short record).
QUOTED_FIELDS = ["QabcQ", "QQ", "Qa b cQ", "QaSbQ", "QNULLQ", "Qo'neilQ", "Q\u00e9\U0001f600Q", "QSSQ", "Q12Q"]
PLAIN_FIELDS = [*QUOTED_FIELDS, "QSQ", "12", "-1.50", "", "\\N", "Q\\NQ", "x y", "NULL"]
TRICKY_FIELDS = ["QaQQbQ", "QQQQ", "Qline\nbreakQ", "Qcr\r\nlfQ", "Q\\\\NQ", "\\\\N", "Qback\\QslashQ", "a\\Sb",
                 "Qit's\x00\x1aQ", "it's", "Q\\tQ", "a\rb", "QSQQSQ"]
BROKEN_RECORDS = ["QunterminatedQx", "1S2", "QaQ\nQbQ"]


def make_csv(rng, csv: CSVSection, records: int, tricky: float, *, all_quoted: bool = False) -> bytes:  # noqa: ANN001
    """``records`` lines of 4 fields; with probability 1/3 one broken record somewhere."""
    sep, quote = csv.separator, csv.delimiter or '"'
    terminators = [csv.terminator] if csv.terminator else rng.choice([["\n"], ["\r\n"], ["\n", "\r\n"]])
    broken = rng.randrange(records * 3)
    lines = []
    for n in range(records):
        fields = [rng.choice(TRICKY_FIELDS if rng.random() < tricky else QUOTED_FIELDS if all_quoted else PLAIN_FIELDS)
                  for _ in range(4)]
        line = sep.join(fields) if n != broken else rng.choice(BROKEN_RECORDS)
        if csv.trim_last_separator and rng.random() < 0.95:
            line += sep
        if rng.random() < 0.005:
            line += rng.choice(terminators)  # an empty line
        lines.append(line.replace("S", sep).replace("Q", quote) + rng.choice(terminators))
    return "".join(lines).encode()


QUOTED_CONFIGS = [
    CSVSection(header=False),
    CSVSection(header=False, separator="|", trim_last_separator=True),
    CSVSection(header=False, terminator="\r\n"),
    CSVSection(header=False, terminator="\n"),
    CSVSection(header=False, null=("NULL", "")),
    CSVSection(header=False, not_null=True),
    CSVSection(header=False, backslash_escape=False),
    CSVSection(header=False, delimiter="'", separator=";"),
]


@pytest.mark.parametrize("csv", QUOTED_CONFIGS, ids=lambda c: f"{c.separator}{c.delimiter}{c.terminator!r}")
@pytest.mark.parametrize("tricky", [0.0, 0.01, 0.2])
@pytest.mark.parametrize("all_quoted", [True, False])
def test_quoted_fast_path_equals_careful_path(csv: CSVSection, tricky: float, all_quoted: bool) -> None:
    rng = random.Random(f"{csv}{tricky}{all_quoted}")
    for trial in range(6):
        data = make_csv(rng, csv, 300, tricky, all_quoted=all_quoted)
        columns = ("a", "b", "c", "d") if trial % 2 else None
        encoder = RowEncoder(None, no_backslash_escapes=trial % 3 == 2)
        reference = outcome(read_careful, data, csv, columns=columns, encoder=encoder, max_bytes=2000, max_rows=40)
        for block_size in (1 << 20, 4096, 7):
            assert outcome(read_all, data, csv, columns=columns, encoder=encoder, max_bytes=2000, max_rows=40,
                           block_size=block_size) == reference, (trial, block_size)
        assert outcome(read_all, data, csv, columns=columns, encoder=encoder) == outcome(
            read_careful, data, csv, columns=columns, encoder=encoder
        )


@pytest.mark.parametrize(
    "data",
    [
        # Fully quoted lines (the counting proof) and what must defeat it.
        b'"a","b"\n"","c,d"\n',
        b'"a","b"\n","","x"\n"c","d"\n',  # a line starting with the boundary
        b'"a",""","b"\n"c","d"\n',  # doubled delimiter next to a boundary
        b'"a","b"\n"c","d",\n',  # a trailing separator is a third, empty field
        b'"a","b"\n"\n"\n',  # a quoted newline
        b'"a\n","b"\n"c","d"\n',
        b'"a","b"\r\n"c","d"\r\n"e","f"\n',
        b'"a","b\r"\n',
        b'"a",b"\n"c","d"\n',
        b'"a","b" \n',
        b'"x""y","z"\n"a","b"\n',
        b'"","",""\n"","",""\n',
        # Mixed quoting (the record pattern) and separators inside quotes.
        b'1,"a,b",\\N,"\\N"\r\n2,"c","d,",",e"\r\n',
        b'1,"a,b"\n2,"c"d\n3,"e"\n',
        b'\\N,\\N\n\\Nx,1\n',
    ],
)
def test_tricky_quoted_runs(data: bytes) -> None:
    for csv in (CSVSection(header=False), CSVSection(header=False, null=("", "NULL"))):
        expected = outcome(read_careful, data, csv)
        assert outcome(read_all, data, csv) == expected
        assert outcome(read_all, data, csv, max_bytes=20, max_rows=2) == outcome(
            read_careful, data, csv, max_bytes=20, max_rows=2
        )


def test_quoted_block_path_rows(tpch_tbl_dir: Path) -> None:
    """A fully quoted and a Dumpling-style lineitem give the .tbl file's rows at their own offsets."""
    tbl = (tpch_tbl_dir / "lineitem.tbl").read_bytes()
    tbl_lines = tbl.splitlines()
    expected = rows_of(read_all(tbl, TBL))
    quoted = b"".join(b'"' + line[:-1].replace(b"|", b'","') + b'"\r\n' for line in tbl_lines)
    bare = b"".join(b",".join(f if i < 8 else b'"' + f + b'"' for i, f in enumerate(line[:-1].split(b"|"))) + b"\n"
                    for line in tbl_lines)
    for data in (quoted, bare):
        batches = read_all(data, DEFAULT, columns=tuple("abcdefghijklmnop"), max_bytes=96 * 1024, max_rows=65536)
        assert rows_of(batches) == expected
        starts = [0]
        for line in data.splitlines(keepends=True)[:-1]:
            starts.append(starts[-1] + len(line))
        assert [off for _, off in flat(batches)] == starts
        assert batches[-1].end.offset == len(data)


def test_dumpling_null_and_escaped_rows() -> None:
    data = b'1,"a,b",\\N,"\\N"\r\n2,"it""s","x\\ny",""\r\n3,"","\\\\N",NULL\r\n'
    assert rows_of(read_all(data, DEFAULT)) == [
        b"('1','a,b',NULL,NULL)",
        b"('2','it\"s','x\\ny','')",
        b"('3','','\\\\N','NULL')",
    ]


# --- bounded records --------------------------------------------------------------------------------


@pytest.mark.parametrize("block_size", [16, 1000])
def test_unterminated_quoted_field_is_bounded(block_size: int) -> None:
    data = b'1,a\n2,"open\n' + b"x,y\n" * 1_000_000
    stream = CountingStream(data)
    reader = CSVReader(stream, path="big.csv", csv=DEFAULT, columns=None, encoder=PLAIN, block_size=block_size,
                       max_record_bytes=10_000)
    with pytest.raises(SourceError, match="unterminated quoted field: record longer than 10000 bytes") as info:
        list(reader.batches(1 << 20, 1 << 20))
    assert info.value.offset == 4 and info.value.path == "big.csv"
    assert "big.csv at byte offset 4" in str(info.value)
    assert stream.handed_out < 10_000 + 2 * block_size + 64


def test_long_record_limit_and_header() -> None:
    long_line = b"a" * 5000 + b"," + b"b" * 4000 + b"\n"
    data = b"1,2\n" + long_line + b"3,4\n"
    with pytest.raises(SourceError, match="^t.csv at byte offset 4: record longer than 8000 bytes$"):
        read_all_limited(data, 8000)
    assert len(rows_of(read_all_limited(data, len(long_line)))) == 3
    with pytest.raises(SourceError, match="unterminated quoted field") as info:
        read_csv_header(io.BytesIO(b'"id,name\n' + b"1,2\n" * 5000), path="h.csv", csv=CSVSection(),
                        max_record_bytes=1000)
    assert info.value.offset == 0


def read_all_limited(data: bytes, limit: int) -> list[RowBatch]:
    reader = CSVReader(io.BytesIO(data), path="t.csv", csv=DEFAULT, columns=None, encoder=PLAIN, block_size=64,
                       max_record_bytes=limit)
    return list(reader.batches(1 << 20, 1 << 20))


def test_width_comes_from_encoder_kinds_without_columns() -> None:
    enc = RowEncoder(["number", "string"], no_backslash_escapes=False)
    with pytest.raises(RowShapeError, match="expected 2 fields, found 3") as info:
        read_all(b'1,"a"\n2,"b","c"\n', DEFAULT, encoder=enc)
    assert info.value.offset == 6
    with pytest.raises(RowShapeError, match="expected 2 fields, found 1"):
        read_all(b"1|a|\n2|\n", TBL, encoder=enc)

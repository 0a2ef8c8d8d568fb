"""SQLReader: sample dump, awkward literals, block boundaries, resume, chunk ends and errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition, RowBatch
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader, sniff_set_names
from tests.support.counting_stream import CountingStream

SAMPLE_COUNTS = {
    "nation": 25,
    "region": 5,
    "part": 2000,
    "supplier": 100,
    "partsupp": 8000,
    "customer": 1500,
    "orders": 15000,
    "lineitem": 60175,
}


def read_all(
    data: bytes,
    *,
    max_bytes: int = 1 << 20,
    max_rows: int = 1 << 20,
    block_size: int = 1 << 20,
    start: int = 0,
    end: int | None = None,
    resume: ReadPosition | None = None,
) -> list[RowBatch]:
    offset = resume.offset if resume else start
    stream = io.BytesIO(data)
    stream.seek(offset)
    reader = SQLReader(stream, path="t.sql", start=start, end=end, resume=resume, block_size=block_size)
    return list(reader.batches(max_bytes, max_rows))


def flat(batches: list[RowBatch]) -> list[tuple[tuple[str, ...] | None, bytes, int]]:
    return [(b.columns, row, off) for b in batches for row, off in zip(b.rows, b.offsets, strict=True)]


def test_sample_files_row_counts_and_edges(sample_dir: Path) -> None:
    counts: dict[str, int] = {}
    for path in sorted((sample_dir / "mydumper-sql").glob("tpch.*.sql")):
        if path.name.endswith("-schema.sql"):
            continue
        data = path.read_bytes()
        batches = read_all(data, max_bytes=96 * 1024, max_rows=65536)
        rows = [row for b in batches for row in b.rows]
        table = path.name.split(".")[1]
        counts[table] = counts.get(table, 0) + len(rows)
        # First row: the line after the first "VALUES"; last row: the last line without ";".
        first_line = data.split(b"VALUES\n", 1)[1].split(b"\n", 1)[0]
        assert rows[0] == first_line.rstrip(b",")
        assert rows[-1] == data.rstrip(b"\n").rsplit(b"\n", 1)[1].rstrip(b";")
        assert all(b.nbytes == sum(map(len, b.rows)) for b in batches)
        assert batches[-1].end == ReadPosition(len(data), None, False)
        # Offsets point at the row's bytes.
        for b in batches[:3]:
            for row, off in zip(b.rows, b.offsets, strict=True):
                assert data[off : off + len(row)] == row
    assert counts == SAMPLE_COUNTS


def test_sample_nation_first_row_exact(sample_dir: Path) -> None:
    data = (sample_dir / "mydumper-sql" / "tpch.nation.sql").read_bytes()
    rows = flat(read_all(data))
    assert rows[0][:2] == (None, b'(0,"ALGERIA",0," haggle. carefully final deposits detect slyly agai")')
    assert sniff_set_names(data[:4096]) == "binary"


AWKWARD = (
    b"/*!40101 SET NAMES binary*/;\n"
    b"/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n"
    b"-- a comment; with 'quote\n"
    b"# another comment\n"
    b"SET @a = 'x;y';\n"
    b"LOCK TABLES `t` WRITE;\n"
    b"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
    b"INSERT INTO `db`.`t` VALUES\n"
    b"(1,'it''s','a\\'b\\\\',\"dq \"\" and \\\" \",NULL),\n"
    b"(2,_binary 'x\\0y',_utf8mb4'\xc3\xa9',x'00ff',0xABCD,b'101'),\n"
    b"(3,'),\n(not a row','semi;colon','(paren'),\n"
    b"(4,CONVERT('a' USING utf8mb4),CAST(CONVERT(1, CHAR(3)) AS CHAR),-1.5e3) , (5,'multi\nline');\n"
    b"insert ignore into t (`a`, b,`c``d`) values (6,'x','y'),(7,'z','w');\n"
    b"REPLACE INTO t(`a`,b,`c``d`) VALUES(8,'p','q')/* trailing */;\n"
    b"INSERT INTO t VALUES (9,'a'), /* between */ (10,'b');\n"
    b"UNLOCK TABLES;\n"
)
AWKWARD_ROWS = [
    (None, b"(1,'it''s','a\\'b\\\\',\"dq \"\" and \\\" \",NULL)"),
    (None, b"(2,_binary 'x\\0y',_utf8mb4'\xc3\xa9',x'00ff',0xABCD,b'101')"),
    (None, b"(3,'),\n(not a row','semi;colon','(paren')"),
    (None, b"(4,CONVERT('a' USING utf8mb4),CAST(CONVERT(1, CHAR(3)) AS CHAR),-1.5e3)"),
    (None, b"(5,'multi\nline')"),
    (("a", "b", "c`d"), b"(6,'x','y')"),
    (("a", "b", "c`d"), b"(7,'z','w')"),
    (("a", "b", "c`d"), b"(8,'p','q')"),
    (None, b"(9,'a')"),
    (None, b"(10,'b')"),
]


def test_awkward_literals_and_statements() -> None:
    batches = read_all(AWKWARD)
    assert [(c, r) for c, r, _ in flat(batches)] == AWKWARD_ROWS
    for _, row, off in flat(batches):
        assert AWKWARD[off : off + len(row)] == row
    # Column lists never mix: None, ("a","b","c`d"), None.
    assert [b.columns for b in batches] == [None, ("a", "b", "c`d"), None]
    assert batches[0].end.in_values is False


@pytest.mark.parametrize("block_size", [1, 2, 7, 13, 64, 1000])
def test_tiny_blocks_give_identical_output(block_size: int) -> None:
    assert flat(read_all(AWKWARD, block_size=block_size)) == flat(read_all(AWKWARD))


def test_tiny_blocks_on_sample(sample_dir: Path) -> None:
    data = (sample_dir / "mydumper-sql" / "tpch.partsupp.sql").read_bytes()
    expected = flat(read_all(data, max_bytes=20000, max_rows=1000))
    assert len(expected) == 8000
    assert flat(read_all(data, max_bytes=20000, max_rows=1000, block_size=7)) == expected
    assert flat(read_all(data, max_bytes=20000, max_rows=1000, block_size=4099)) == expected


def test_row_larger_than_block() -> None:
    big = b"x" * 100_000
    data = b"INSERT INTO t VALUES (1,'" + big + b"'),(2,'" + big + b"');\n"
    rows = [r for _, r, _ in flat(read_all(data, block_size=1000))]
    assert rows == [b"(1,'" + big + b"')", b"(2,'" + big + b"')"]


@pytest.mark.parametrize(("max_bytes", "max_rows"), [(1, 1000), (10_000, 1000), (1 << 20, 3), (2000, 7)])
def test_batch_limits(sample_dir: Path, max_bytes: int, max_rows: int) -> None:
    data = (sample_dir / "mydumper-sql" / "tpch.supplier.sql").read_bytes()
    batches = read_all(data, max_bytes=max_bytes, max_rows=max_rows)
    assert sum(len(b.rows) for b in batches) == 100
    for b in batches:
        assert 1 <= len(b.rows) <= max_rows
        assert b.nbytes <= max_bytes or len(b.rows) == 1
    # A batch stops only when the next row would not fit.
    for b, nxt in zip(batches, batches[1:], strict=False):
        assert len(b.rows) == max_rows or b.nbytes + len(nxt.rows[0]) > max_bytes


@pytest.mark.parametrize("data_name", ["awkward", "orders"])
def test_resume_from_every_batch_end(sample_dir: Path, data_name: str) -> None:
    if data_name == "awkward":
        data, max_bytes, block_size = AWKWARD, 40, 16
    else:
        data, max_bytes, block_size = (sample_dir / "mydumper-sql" / "tpch.orders.sql").read_bytes(), 150_000, 1 << 16
    batches = read_all(data, max_bytes=max_bytes, max_rows=5000, block_size=block_size)
    assert len(batches) > 5
    all_rows = flat(batches)
    seen = 0
    for b in batches:
        seen += len(b.rows)
        rest = flat(read_all(data, max_bytes=max_bytes, max_rows=5000, block_size=block_size, resume=b.end))
        assert rest == all_rows[seen:]


def test_resume_position_kinds() -> None:
    data = b"INSERT INTO t (a) VALUES (1),\n(2);\nINSERT INTO t (a) VALUES (3);"
    batches = read_all(data, max_rows=1)
    assert [b.end for b in batches] == [
        ReadPosition(data.index(b"(2)"), ("a",), True),
        ReadPosition(data.index(b";") + 1, None, False),
        ReadPosition(len(data), None, False),
    ]


def test_chunk_end_is_statement_aligned() -> None:
    first = b"INSERT INTO t VALUES (1),(2);\n"
    second = b"INSERT INTO t VALUES (3),(4);\n"
    data = first + second
    # A chunk ending inside the first statement still reads it to its ';' and stops there.
    assert [r for _, r, _ in flat(read_all(data, end=5))] == [b"(1)", b"(2)"]
    assert [r for _, r, _ in flat(read_all(data, end=len(first)))] == [b"(1)", b"(2)"]
    rest = flat(read_all(data, start=len(first)))
    assert rest == [(None, b"(3)", len(first) + 21), (None, b"(4)", len(first) + 25)]


def test_different_column_lists_split_batches() -> None:
    data = b"INSERT INTO t (a) VALUES (1);INSERT INTO t (a) VALUES (2);INSERT INTO t (b) VALUES (3);"
    batches = read_all(data)
    assert [(b.columns, b.rows) for b in batches] == [(("a",), [b"(1)", b"(2)"]), (("b",), [b"(3)"])]
    assert batches[0].end == ReadPosition(data.index(b"INSERT INTO t (b)"), None, False)


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"INSERT INTO t VALUES (1,'a'),\n(2,'unterminated);\n", "unterminated string", 30),
        (b"INSERT INTO t VALUES (1,2;3),(4);", "malformed row tuple", 21),
        (b"INSERT INTO t VALUES (1),(2,(3);", "malformed row tuple", 25),
        (b"INSERT INTO t VALUES (1) junk (2);", "expected ',' or ';'", 25),
        (b"INSERT INTO t VALUES (1),junk;", "expected a row tuple", 25),
        (b"INSERT INTO t VALUES (1),", "unexpected end of file", 25),
        (b"INSERT INTO t VALUES (1);\nCREATE TABLE x (a int);", "unexpected statement", 26),
        (b"DELETE FROM t;", "unexpected statement", 0),
        (b"INSERT INTO t SELECT 1;", "malformed INSERT", 0),
        (b"/* never closed", "unterminated comment", 0),
    ],
)
@pytest.mark.parametrize("block_size", [3, 1 << 20])
def test_errors_carry_offsets(data: bytes, message: str, offset: int, block_size: int) -> None:
    with pytest.raises(SourceError, match=message) as info:
        read_all(data, block_size=block_size)
    assert info.value.offset == offset
    assert info.value.path == "t.sql"


def test_last_statement_without_semicolon() -> None:
    assert [r for _, r, _ in flat(read_all(b"INSERT INTO t VALUES (1),(2)\n"))] == [b"(1)", b"(2)"]


def test_sniff_set_names() -> None:
    assert sniff_set_names(b"/*!40101 SET NAMES binary*/;\nINSERT INTO t VALUES (1);") == "binary"
    assert sniff_set_names(b"-- x\nSET NAMES 'UTF8MB4';\n") == "utf8mb4"
    assert sniff_set_names(b"INSERT INTO t VALUES ('SET NAMES latin1');") is None
    assert sniff_set_names(b"") is None


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"(2,'unterminated,NULL),\n", "unterminated string in row tuple (row longer than 10000 bytes)"),
        (b"(2,'a',(((", "row tuple longer than 10000 bytes"),
        (b"(2,'a') /* never closed ", "unterminated comment after a row tuple (more than 10000 bytes)"),
    ],
)
@pytest.mark.parametrize("block_size", [16, 4096])
def test_unterminated_row_is_bounded(tail: bytes, message: str, block_size: int) -> None:
    head = b"INSERT INTO `t` VALUES (1,'ok'),\n"
    data = head + tail + b"(3,'x')," * 200_000
    stream = CountingStream(data)
    reader = SQLReader(stream, path="big.sql", block_size=block_size, max_record_bytes=10_000)
    with pytest.raises(SourceError) as info:
        list(reader.batches(1 << 20, 1 << 20))
    assert info.value.reason == message
    assert info.value.offset == len(head) and info.value.path == "big.sql"
    assert stream.handed_out < 10_000 + 2 * block_size + 1024


@pytest.mark.parametrize(
    ("data", "message", "offset"),
    [
        (b"/* never closed " + b"x" * 50_000, "unterminated comment (more than 10000 bytes)", 0),
        (b"SET @a = 'never closed;" + b"x" * 50_000, "statement longer than 10000 bytes", 0),
    ],
)
def test_unterminated_statement_is_bounded(data: bytes, message: str, offset: int) -> None:
    with pytest.raises(SourceError) as info:
        list(SQLReader(io.BytesIO(data), path="t.sql", block_size=64, max_record_bytes=10_000).batches(1000, 10))
    assert (info.value.reason, info.value.offset) == (message, offset)


def test_row_at_the_limit_is_read() -> None:
    row = b"(1,'" + b"y" * 9000 + b"')"
    data = b"INSERT INTO t VALUES " + row + b",\n(2,'b');\n"
    rows = [r for b in SQLReader(io.BytesIO(data), path="t.sql", block_size=64,
                                 max_record_bytes=len(row) + 64).batches(1 << 20, 100) for r in b.rows]
    assert rows == [row, b"(2,'b')"]
    with pytest.raises(SourceError, match="row longer than"):
        list(SQLReader(io.BytesIO(data), path="t.sql", block_size=64, max_record_bytes=5000).batches(1 << 20, 100))

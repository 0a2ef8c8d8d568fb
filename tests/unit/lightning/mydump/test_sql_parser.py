"""SQLReader: awkward literals, block boundaries, resume, chunk ends and errors (the real mydumper
dump: tests/integration/lightning/mydump/test_tpch_dump.py)."""

from __future__ import annotations

import io

import pytest

from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import (
    SQLReader,
    sniff_no_backslash_escapes,
    sniff_set_names,
)
from tests.support.counting_stream import CountingStream
from tests.support.mydump_harness import assert_resumes_from_every_batch_end
from tests.support.mydump_harness import flat_sql as flat
from tests.support.mydump_harness import read_sql as read_all

AWKWARD = (
    b"/*!40101 SET NAMES binary*/;\n"
    b"/*!40014 SET FOREIGN_KEY_CHECKS=0*/;\n"
    b"-- a comment; with 'quote\n"
    b"# another comment\n"
    b"SET @a = 'x;y';\n"
    b"LOCK TABLES `t` WRITE;\n"
    b"BEGIN;\n"
    b"/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
    b"INSERT INTO `db`.`t` VALUES\n"
    b"(1,'it''s','a\\'b\\\\',\"dq \"\" and \\\" \",NULL),\n"
    b"(2,'x\\0y','\xc3\xa9',x'00ff',0xABCD,b'101',0b11,TRUE,false),\n"
    b"(3,'),\n(not a row','semi;colon','(paren'),\n"
    b"(4,CONVERT('a' USING utf8mb4),-1.5e3,abc) , (5,'multi\nline');\n"
    b"insert ignore into t (`a`, b,`c``d`) values (6,'x','y'),(7,'z','w');\n"
    b"REPLACE INTO t(`a`,b,`c``d`) VALUES(8,'p','q')/* trailing */;\n"
    b"INSERT INTO t VALUES (9,'a'), /* between */ (10,'b');\n"
    b"(11,'c');\n"
    b"COMMIT;\n"
    b"UNLOCK TABLES;\n"
)
AWKWARD_ROWS = [
    (None, b"(1,'it''s','a\\'b\\\\',\"dq \"\" and \\\" \",NULL)"),
    (None, b"(2,'x\\0y','\xc3\xa9',x'00ff',0xABCD,b'101',0b11,TRUE,false)"),
    (None, b"(3,'),\n(not a row','semi;colon','(paren')"),
    (None, b"(4,CONVERT('a' USING utf8mb4),-1.5e3,'abc')"),  # a word is a string, as in tidb-lightning
    (None, b"(5,'multi\nline')"),
    (("a", "b", "c`d"), b"(6,'x','y')"),
    (("a", "b", "c`d"), b"(7,'z','w')"),
    (("a", "b", "c`d"), b"(8,'p','q')"),
    (None, b"(9,'a')"),
    (None, b"(10,'b')"),
    (None, b"(11,'c')"),  # a tuple after ';' is one more row, as in tidb-lightning
]


def test_awkward_literals_and_statements() -> None:
    batches = read_all(AWKWARD)
    assert [(c, r) for c, r, _ in flat(batches)] == AWKWARD_ROWS
    for _, row, off in flat(batches):
        assert AWKWARD[off : off + len(row)] == row or row.endswith(b"'abc')")
    # Column lists never mix: None, ("a","b","c`d"), None.
    assert [b.columns for b in batches] == [None, ("a", "b", "c`d"), None]
    assert batches[0].end.in_values is False


@pytest.mark.parametrize("block_size", [1, 2, 7, 13, 64, 1000])
def test_tiny_blocks_give_identical_output(block_size: int) -> None:
    assert flat(read_all(AWKWARD, block_size=block_size)) == flat(read_all(AWKWARD))


def test_row_larger_than_block() -> None:
    big = b"x" * 100_000
    data = b"INSERT INTO t VALUES (1,'" + big + b"'),(2,'" + big + b"');\n"
    rows = [r for _, r, _ in flat(read_all(data, block_size=1000))]
    assert rows == [b"(1,'" + big + b"')", b"(2,'" + big + b"')"]


def test_resume_from_every_batch_end() -> None:
    assert_resumes_from_every_batch_end(AWKWARD, max_bytes=40, block_size=16)


def test_resume_position_kinds() -> None:
    data = b"INSERT INTO t (a) VALUES (1),\n(2);\nINSERT INTO t (a) VALUES (3);"
    batches = read_all(data, max_rows=1)
    assert [b.end for b in batches] == [
        ReadPosition(data.index(b"(2)"), ("a",), True),
        ReadPosition(data.index(b";") + 1, ("a",), False),  # a tuple after ';' would be an (a) row
        ReadPosition(len(data), ("a",), False),
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
    assert batches[0].end == ReadPosition(data.index(b"INSERT INTO t (b)"), ("a",), False)


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
        (b"DELETE FROM t WHERE a IN (1, 2);", "unexpected statement", 0),
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


def test_sniff_no_backslash_escapes() -> None:
    mysqldump = b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO,NO_BACKSLASH_ESCAPES' */;\n"
    assert sniff_no_backslash_escapes(mysqldump + b"INSERT INTO t VALUES (1);")
    assert sniff_no_backslash_escapes(b"SET sql_mode = \"no_backslash_escapes\";\n")
    assert not sniff_no_backslash_escapes(b"/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n")
    assert not sniff_no_backslash_escapes(b"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n")  # a restore, no mode
    assert not sniff_no_backslash_escapes(b"INSERT INTO t VALUES ('SET SQL_MODE=\\'NO_BACKSLASH_ESCAPES\\'');")
    # The last SET before the first INSERT counts.
    assert not sniff_no_backslash_escapes(b"SET SQL_MODE='NO_BACKSLASH_ESCAPES';\nSET SQL_MODE='';\n")


def test_strings_are_re_encoded_when_the_dump_and_the_session_disagree() -> None:
    data = b"INSERT INTO t VALUES (1,'a\\\\b','x\\ny',\"it\\\"s\",'plain',CONVERT('c\\\\' USING utf8mb4));"

    def rows(**modes: bool) -> list[bytes]:
        return [r for b in SQLReader(io.BytesIO(data), path="t.sql", **modes).batches(1 << 20, 10) for r in b.rows]
    assert rows() == [data[21:-1]]  # the same flavour: the row as written
    assert rows(no_backslash_escapes=True) == [
        b"(1,'a\\b','x\ny','it\"s','plain',CONVERT('c\\' USING utf8mb4))"]
    # A dump written without backslash escapes, read by a session with them: the backslash is doubled.
    nbe = b"INSERT INTO t VALUES (1,'a\\b','it''s');"
    assert [r for b in SQLReader(io.BytesIO(nbe), path="t.sql", dump_no_backslash_escapes=True).batches(99, 9)
            for r in b.rows] == [b"(1,'a\\\\b','it''s')"]


@pytest.mark.parametrize("fast", [True, False])
def test_ansi_quotes_sessions_get_single_quoted_strings(fast: bool) -> None:
    data = b'INSERT INTO t VALUES\n(1,"id","it\'s"),\n(2,\'x\',CONVERT("{}" USING utf8mb4));\n'
    reader = SQLReader(io.BytesIO(data), path="t.sql", fast=fast, ansi_quotes=True)
    assert [r for b in reader.batches(1 << 20, 10) for r in b.rows] == [
        b"(1,'id','it\\'s')", b"(2,'x',CONVERT('{}' USING utf8mb4))"]


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

"""tidb-lightning's CSV parser test cases (pkg/lightning/mydump/csv_parser_test.go: TestTPCH,
TestTPCHMultiBytes, TestRFC4180, TestMySQL, TestCustomEscapeChar, the empty and NULL cases), ported as
tables: the same bytes give the same fields here, read in one block and in blocks small enough to cut
every separator, quote and terminator."""

from __future__ import annotations

import io

import pytest

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader

PLAIN = RowEncoder(None, no_backslash_escapes=False)
BLOCKS = (1 << 20, 7, 1)

TPCH = [
    ["1", "goldenrod lavender spring chocolate lace", "Manufacturer#1", "Brand#13", "PROMO BURNISHED COPPER", "7",
     "JUMBO PKG", "901.00", "ly. slyly ironi"],
    ["2", "blush thistle blue yellow saddle", "Manufacturer#1", "Brand#13", "LARGE BRUSHED BRASS", "1", "LG CASE",
     "902.00", "lar accounts amo"],
    ["3", "spring green yellow purple cornsilk", "Manufacturer#4", "Brand#42", "STANDARD POLISHED BRASS", "21",
     "WRAP CASE", "903.00", "egular deposits hag"],
]


def _datums_to_string(separator: str, quote: str, last_separator: bool) -> str:
    """tidb-lightning's datumsToString: every row ends in \\r\\n, quotes doubled inside quoted fields."""
    lines = []
    for row in TPCH:
        fields = [quote + value.replace(quote, quote * 2) + quote if quote else value for value in row]
        lines.append(separator.join(fields) + (separator if last_separator else "") + "\r\n")
    return "".join(lines)


def _read(data: bytes, csv: CSVSection, block_size: int) -> list[tuple[bytes, int]]:
    reader = CSVReader(io.BytesIO(data), path="t.csv", csv=csv, start=0, end=None, columns=None, encoder=PLAIN,
                       block_size=block_size)
    return [pair for batch in reader.batches(1 << 20, 1 << 20) for pair in zip(batch.rows, batch.offsets,
                                                                                strict=True)]


def _tuples(rows: list[list[str | None]]) -> list[bytes]:
    return [PLAIN.encode([None if v is None else v.encode() for v in row]) for row in rows]


def _check(data: bytes, csv: CSVSection, rows: list[list[str | None]], starts: list[int] | None = None) -> None:
    for block in BLOCKS:
        found = _read(data, csv, block)
        assert [row for row, _ in found] == _tuples(rows), f"block size {block}"
        if starts is not None:
            assert [offset for _, offset in found] == starts, f"block size {block}"


def test_tpch():
    data = _datums_to_string("|", "", last_separator=True).encode()
    # tidb-lightning's parser stops after the \r of row 1 (position 126); row 2 starts after the \n (127).
    _check(data, CSVSection(separator="|", delimiter="", header=False, trim_last_separator=True), TPCH,
           starts=[0, 127, 242])


SEPARATORS_AND_QUOTES = [
    (",", ""), ("\x00", ""), ("，", ""), ("🤔", ""), ("，", "。"), ("||", ""), ("|+|", ""), ("##", ""), ("，", "'"),
    ("，", '"'), ("🤔", "''"), ("🤔", "\"'"), ("🤔", "🌚"), ("##", "#-"), ("\\s", "\\q"), (",", "1"), (",", "ac"),
]


@pytest.mark.parametrize(("separator", "quote"), SEPARATORS_AND_QUOTES)
def test_tpch_multi_byte_separators_and_quotes(separator, quote):
    data = _datums_to_string(separator, quote, last_separator=False).encode()
    csv = CSVSection(separator=separator, delimiter=quote, header=False, backslash_escape=False)
    lines = data.split(b"\r\n")
    starts = [sum(len(line) + 2 for line in lines[:i]) for i in range(3)]
    _check(data, csv, TPCH, starts=starts)


RFC4180 = CSVSection(separator=",", delimiter='"', header=False, backslash_escape=False)


@pytest.mark.parametrize(
    ("data", "rows", "starts"),
    [
        ("aaa,bbb,ccc\nzzz,yyy,xxx\n", [["aaa", "bbb", "ccc"], ["zzz", "yyy", "xxx"]], [0, 12]),  # example 1
        ("aaa,bbb,ccc\nzzz,yyy,xxx", [["aaa", "bbb", "ccc"], ["zzz", "yyy", "xxx"]], [0, 12]),  # example 2
        ('"aaa","bbb","ccc"\nzzz,yyy,xxx', [["aaa", "bbb", "ccc"], ["zzz", "yyy", "xxx"]], [0, 18]),  # example 5
        ('"aaa","b\nbb","ccc"\nzzz,yyy,xxx', [["aaa", "b\nbb", "ccc"], ["zzz", "yyy", "xxx"]], [0, 19]),  # ex. 6
        ('"aaa","b""bb","ccc"', [["aaa", 'b"bb', "ccc"]], [0]),  # example 7
    ],
)
def test_rfc4180(data, rows, starts):
    _check(data.encode(), RFC4180, rows, starts)


MYSQL = CSVSection(separator=",", delimiter='"', terminator="\n", header=False, backslash_escape=True, null=("\\N",))


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        ('"\\"","\\\\","\\?"\n"\\\n",\\N,\\\\N', [['"', "\\", "?"], ["\n", None, "\\N"]]),
        ('"\\0\\b\\n\\r\\t\\Z\\\\\\  \\c\\\'\\""', [["\x00\b\n\r\t\x1a\\  c'\""]]),
    ],
)
def test_mysql_escapes(data, rows):
    _check(data.encode(), MYSQL, rows)


def test_no_escape_character_keeps_backslashes_and_doubles_quotes():
    data = '"{""itemRangeType"":0,""shopJson"":""[{\\""id\\"":\\""A1234\\""}]""}"'
    csv = CSVSection(separator=",", delimiter='"', header=False, backslash_escape=False, null=("NULL",))
    _check(data.encode(), csv, [['{"itemRangeType":0,"shopJson":"[{\\"id\\":\\"A1234\\"}]"}']])


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        ("", []),  # TestEmpty
        ("\n", []),  # empty lines are skipped, as tidb-lightning's parser skips them
        ("a\n\nb\n", [["a"], ["b"]]),
        ("a\rb\r\nc\n\n\n\nd", [["a"], ["b"], ["c"], ["d"]]),  # TestCRLF
        (",\n", [["", ""]]),
        ('"",\n', [["", ""]]),
    ],
)
def test_empty_lines_and_fields(data, rows):
    csv = CSVSection(separator=",", delimiter='"', header=False, null=("\\N",))
    _check(data.encode(), csv, rows)

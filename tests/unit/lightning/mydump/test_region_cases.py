"""tidb-lightning's region-splitting cases (pkg/lightning/mydump/region_test.go: TestSplitLargeFile,
TestSplitLargeFileNoNewLineAtEOF, TestSplitLargeFileWithCustomTerminator, TestSplitLargeFileOnlyOneChunk),
ported as a table.

Each case gives tidb-lightning's regions and this provider's chunks. Both tile the same rows, each in
exactly one piece; where the boundaries differ, it is on purpose and said here:

* tidb-lightning starts its first region after the CSV header; here the first chunk starts at byte 0
  and the reader skips the header, so marks count from the file's start.
* tidb-lightning ends a region at the end of the row that holds the byte at ``start + max-region-size``
  (a row starting exactly there included); here a chunk ends at the first row start at or after that
  mark. Chunks are therefore never longer than tidb-lightning's regions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.mydump import split_chunks
from tests.support.mydump_harness import assert_tiles, data_file, strict

SPLIT_LARGE_FILE = b"a,b,c\n1,2,3\n4,5,6\n7,8,9\n0,1,2\n"  # tidb-lightning's csv/split_large_file.csv

# (content, csv options, max-region-size, tidb-lightning's regions, this provider's chunks; None = to EOF)
CASES = [
    (SPLIT_LARGE_FILE, {}, 1, [(6, 12), (12, 18), (18, 24), (24, 30)],
     [(0, 6), (6, 12), (12, 18), (18, 24), (24, None)]),
    (SPLIT_LARGE_FILE, {}, 6, [(6, 18), (18, 30)], [(0, 6), (6, 12), (12, 18), (18, 24), (24, None)]),
    (SPLIT_LARGE_FILE, {}, 8, [(6, 18), (18, 30)], [(0, 12), (12, 24), (24, None)]),
    (SPLIT_LARGE_FILE, {}, 12, [(6, 24), (24, 30)], [(0, 12), (12, 24), (24, None)]),
    (SPLIT_LARGE_FILE, {}, 13, [(6, 24), (24, 30)], [(0, 18), (18, None)]),
    (SPLIT_LARGE_FILE, {}, 18, [(6, 30)], [(0, 18), (18, None)]),
    (SPLIT_LARGE_FILE, {}, 19, [(6, 30)], [(0, 24), (24, None)]),
    # no newline at EOF (tidb-lightning's positions are after the \r of each \r\n)
    (b"a,b\r\n123,456\r\n789,101", {}, 1, [(4, 13), (13, 21)], [(0, 5), (5, 14), (14, None)]),
    # a multi-byte custom terminator, no header: the same boundaries
    (b"5|+|abc\ndef\nghi|+|6|+|\n7|+|xyz|+|8|+|\n9|+||+|10", {"separator": "|+|", "terminator": "|+|\n",
                                                             "header": False},
     1, [(0, 23), (23, 38), (38, 47)], [(0, 23), (23, 38), (38, None)]),
    # only one region of data
    (b"field1,field2\r\n123,456\r\n", {}, 15, [(14, 24)], [(0, 15), (15, None)]),
]


def _rows(content: bytes, start: int, end: int | None) -> list[bytes]:
    """The non-empty lines that start inside [start, end)."""
    rows, offset = [], 0
    for line in content.splitlines(keepends=True):
        if start <= offset < (len(content) if end is None else end) and line.strip(b"\r\n"):
            rows.append(line.strip(b"\r\n"))
        offset += len(line)
    return rows


@pytest.mark.parametrize(("content", "csv", "region", "tidb", "ours"), CASES)
def test_regions(tmp_path: Path, content, csv, region, tidb, ours):
    path = tmp_path / "db.t.csv"
    path.write_bytes(content)
    options = {"terminator": "\n", **csv}
    chunks = split_chunks(data_file(path, "csv"), strict(region, **options))
    assert [(c.start, c.end) for c in chunks] == ours
    assert_tiles(chunks, len(content))
    if "|+|" in options["terminator"]:
        assert [(c.start, c.end or len(content)) for c in chunks] == tidb  # identical where no header or \r
        return
    # Every data row is in exactly one chunk here, and in exactly one region there.
    header = 0 if options.get("header") is False else 1
    all_rows = [line.strip(b"\r\n") for line in content.splitlines() if line.strip(b"\r\n")][header:]
    ours_rows = [row for c in chunks for row in _rows(content, c.start, c.end)][header:]
    tidb_rows = [row for start, end in tidb for row in _rows(content, start, end)]
    assert ours_rows == all_rows == tidb_rows

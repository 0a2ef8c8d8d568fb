"""Chunking: cut big data files into byte ranges that workers import and checkpoint independently.

Finding a safe cut without parsing the whole file is only possible when the file promises
a simple shape, which is what ``strict-format = true`` means (as in tidb-lightning):

* SQL: no string holds a raw newline (mydumper and Dumpling write ``\\n`` escapes), so a
  line that starts with ``INSERT`` or ``REPLACE`` right after a line ending in ``;`` starts a
  statement;
* CSV: no quoted field holds the line terminator, so every terminator ends a row.

Without that promise, and for compressed files (which cannot be entered in the middle),
a file is one chunk. Cuts are searched from each ``max-region-size`` mark onwards, reading a
few ``read-block-size`` windows there, never the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from ..config.model import MydumperSection
from ..errors import SourceError
from .data_charset import decodes
from .file_rules import DataFormat
from .layout import Chunk, DataFile
from .parquet_parser import row_group_chunks

_MIN_BLOCK = 4096


@dataclass(frozen=True)
class _Cut:
    """Where a chunk may start: just after a match of ``regex``.

    ``lookbehind`` bounds how far before the cut a match may begin, ``lookahead`` how many
    bytes after a match must be visible before it can be trusted (``\\r`` needs the next byte
    to tell ``\\r`` from ``\\r\\n``; ``INSERT`` needs its letters).
    """

    regex: re.Pattern[bytes]
    lookbehind: int
    lookahead: int


_SQL_CUT = _Cut(re.compile(rb";[ \t\r]{0,32}\n(?=INSERT|REPLACE)", re.IGNORECASE), lookbehind=40, lookahead=7)
_ANY_NEWLINE_CUT = _Cut(re.compile(rb"\r\n|\n|\r(?!\n)"), lookbehind=2, lookahead=1)


def _cut_for(file: DataFile, terminator: str) -> _Cut:
    if file.format == DataFormat.SQL:
        return _SQL_CUT
    if not terminator:
        return _ANY_NEWLINE_CUT
    encoded = terminator.encode("utf-8")
    return _Cut(re.compile(re.escape(encoded)), lookbehind=len(encoded), lookahead=0)


def _next_cut(handle: BinaryIO, cut: _Cut, target: int, size: int, block: int) -> int | None:
    """The first cut at or after ``target``; None when the rest of the file has none."""
    overlap = cut.lookbehind + cut.lookahead
    pos = max(0, target - cut.lookbehind)
    while pos < size:
        handle.seek(pos)
        data = handle.read(block)
        if not data:
            return None
        at_eof = pos + len(data) >= size
        for match in cut.regex.finditer(data):
            if pos + match.end() < target:
                continue
            if not at_eof and match.end() + cut.lookahead > len(data):
                break  # may be cut short by the window: look again from a little earlier
            return pos + match.end()
        if at_eof:
            return None
        pos += len(data) - overlap
    return None


def split_chunks(file: DataFile, mydumper: MydumperSection) -> list[Chunk]:
    """The chunks of one data file, in order, covering it with no gap and no overlap.

    Pieces are about ``max-region-size`` bytes (a piece ends at the first cut after the
    mark, so it may be a little longer). The last chunk ends at EOF (``end`` None). A Parquet
    file is cut between row groups, and its chunks' ``start`` / ``end`` are row numbers.
    """
    region = max(mydumper.max_region_size, 1)
    if file.format == DataFormat.PARQUET:
        with file.opener(file.path) as stream:
            ranges = row_group_chunks(stream, file.relative, region)
        return [Chunk(file, index, start, end) for index, (start, end) in enumerate(ranges)]
    # A decoded CSV file is read as a stream of its UTF-8 text (data_charset.py): no byte cut of it.
    if file.compression or not mydumper.strict_format or file.size <= region or decodes(file, mydumper):
        return [Chunk(file, 0, 0, None)]
    cut = _cut_for(file, mydumper.csv.terminator)
    block = max(mydumper.read_block_size, _MIN_BLOCK)
    starts = [0]
    try:
        with file.opener(file.path) as handle:
            while starts[-1] + region < file.size:
                start = _next_cut(handle, cut, starts[-1] + region, file.size, block)
                if start is None or start >= file.size:
                    break
                starts.append(start)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}", path=file.relative) from exc
    ends: list[int | None] = [*starts[1:], None]
    return [Chunk(file, index, start, end) for index, (start, end) in enumerate(zip(starts, ends, strict=True))]

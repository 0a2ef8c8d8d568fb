"""A sliding window over a byte stream, shared by the SQL and CSV readers.

Both readers parse from ``buf[pos:]`` with C-level ``bytes`` and regex operations and refill when
an item runs past the end. The window keeps memory bounded: it reads a block at a time, and a
single item (row, record, comment) may grow it to ``max_record`` bytes but no further, so bad
input fails within that bound instead of reading a whole file into memory.
"""

from __future__ import annotations

from typing import BinaryIO

from ..errors import SourceError

DEFAULT_MAX_RECORD_BYTES = 64 << 20


class StreamWindow:
    """``buf`` holds the unread bytes from stream offset ``base``; ``pos`` is the parse position in it."""

    def __init__(self, stream: BinaryIO, *, path: str, start: int, block_size: int, max_record: int) -> None:
        if block_size <= 0 or max_record <= 0:
            raise ValueError("block_size and max_record_bytes must be positive")
        self.stream = stream
        self.path = path
        self.block_size = block_size
        self.max_record = max_record
        self.buf = b""
        self.pos = 0
        self.base = start
        self.eof = False

    def fill(self) -> None:
        """Drop consumed bytes and read more: at least as much as is pending (so a long item takes a
        logarithmic number of reads), but not much past ``max_record`` bytes of one item."""
        pending = len(self.buf) - self.pos
        data = self.stream.read(max(self.block_size, min(pending, self.max_record + 1 - pending)))
        if not data:
            self.eof = True
            return
        self.buf = self.buf[self.pos :] + data if pending else data
        self.base += self.pos
        self.pos = 0

    def error(self, message: str, index: int) -> SourceError:
        """A :class:`SourceError` at buffer index ``index`` (reported as a stream offset)."""
        return SourceError(message, path=self.path, offset=self.base + index)

"""``data-character-set`` and ``data-invalid-char-replace``: data decoded to UTF-8 as tidb-lightning decodes it.

tidb-lightning's ``CharsetConvertor`` decodes CSV data from ``gbk``, ``gb18030`` or ``latin1`` (Windows-1252)
to UTF-8 itself, and replaces each byte sequence the source character set cannot decode with
``data-invalid-char-replace`` (U+FFFD by default), so such a row is imported, not refused. ``binary``
and ``utf8mb4`` data is passed through untouched.

For CSV files in those character sets, :func:`decoded_stream` wraps the file's stream: the CSV reader
then reads UTF-8 and the rows are sent under ``SET NAMES utf8mb4``. Positions (checkpoints, error
offsets) are then offsets in the decoded text, as for a compressed file, so such a file is one chunk
and is read through from its start on resume. SQL files keep the server's conversion (tidb-lightning
decodes CSV only). :class:`DataDecoder` works block by block, so a multi-byte character split across
two read blocks is decoded once whole.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from typing import BinaryIO

from ..config.charsets import CONVERTED_CHARSETS, Charset
from ..config.model import MydumperSection
from .compression import open_source
from .file_rules import DataFormat
from .layout import DataFile

# The Python codecs of the character sets tidb-lightning decodes (CONVERTED_CHARSETS).
_ENCODINGS = {Charset.GBK: "gbk", Charset.GB18030: "gb18030", Charset.LATIN1: "cp1252"}
DEFAULT_REPLACEMENT = "\ufffd"


def needs_decoding(charset: Charset) -> bool:
    """Whether data in ``charset`` is decoded by tidb-lightning (and so by :class:`DataDecoder`)."""
    return charset in CONVERTED_CHARSETS


def _replacing(replacement: str) -> Callable[[UnicodeError], tuple[str, int]]:
    def handle(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeDecodeError):
            raise exc
        return replacement, exc.end

    return handle


class DataDecoder:
    """Incremental decoder from ``charset`` to UTF-8 bytes, replacing what does not decode."""

    def __init__(self, charset: Charset, replacement: str = DEFAULT_REPLACEMENT) -> None:
        if charset not in _ENCODINGS:
            raise ValueError(f"{charset.value} data is not decoded")
        handler = f"tidb-lightning-py-replace-{replacement.encode('unicode_escape').decode()}"
        try:
            codecs.lookup_error(handler)
        except LookupError:
            codecs.register_error(handler, _replacing(replacement))
        self._decoder = codecs.getincrementaldecoder(_ENCODINGS[charset])(errors=handler)

    def decode(self, block: bytes, final: bool = False) -> bytes:
        """The UTF-8 bytes of ``block``; an incomplete character at its end waits for the next block."""
        return self._decoder.decode(block, final).encode("utf-8")


class _DecodingReader(io.RawIOBase):
    """A forward-only raw stream of the UTF-8 text of ``source``."""

    def __init__(self, source: BinaryIO, decoder: DataDecoder, block_size: int) -> None:
        super().__init__()
        self._source = source
        self._decoder = decoder
        self._block_size = block_size
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            block = self._source.read(self._block_size)
            self._done = not block
            self._pending = self._decoder.decode(block, final=self._done)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._source.close()
        super().close()


def decoded_stream(source: BinaryIO, charset: Charset, replacement: str, block_size: int = 1 << 20) -> BinaryIO:
    """``source`` as UTF-8 (see the module docstring); closing it closes ``source``."""
    return io.BufferedReader(_DecodingReader(source, DataDecoder(charset, replacement), block_size),
                             buffer_size=block_size)


def decodes(file: DataFile, mydumper: MydumperSection) -> bool:
    """Whether ``file`` is read through :func:`decoded_stream` (a CSV file in gbk, gb18030 or latin1)."""
    return file.format == DataFormat.CSV and needs_decoding(mydumper.data_character_set)


def open_data(file: DataFile, mydumper: MydumperSection) -> BinaryIO:
    """A data file's stream as the readers see it: decompressed, and decoded to UTF-8 where it :func:`decodes`."""
    stream = open_source(file.path, file.compression, opener=file.opener)
    if decodes(file, mydumper):
        return decoded_stream(stream, mydumper.data_character_set, mydumper.data_invalid_char_replace)
    return stream

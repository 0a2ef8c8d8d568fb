"""Open data and schema files as decompressed byte streams, without temporary files.

Dumps are often compressed and far larger than the disk left on the worker, so gzip and
zstd files are decoded while they are read. A damaged archive must not look like a short
file: reaching the end of the input inside a gzip member or zstd frame is an error, reported
with the file and the decompressed offset reached, like any other data error. A zstd decoder
hands out whole blocks (up to 128 KiB) only, so the offset it reached can be well before the
break, even 0 in a small file: the message also names the compressed byte where the stream broke.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable
from enum import StrEnum
from typing import BinaryIO, Protocol

import zstandard

from ..errors import SourceError
from .storage import open_local

_READ_SIZE = 64 * 1024


class Compression(StrEnum):
    """How a file is compressed; NONE ("") is a plain file."""

    NONE = ""
    GZIP = "gzip"
    ZSTD = "zstd"


# The spellings tidb-lightning accepts in a file rule's ``compression`` and as a file extension.
COMPRESSION_ALIASES: dict[str, Compression] = {
    "": Compression.NONE,
    "gz": Compression.GZIP,
    "gzip": Compression.GZIP,
    "zst": Compression.ZSTD,
    "zstd": Compression.ZSTD,
}
# ...and "auto", which means: look at the file name.
COMPRESSION_VALUES = frozenset({*COMPRESSION_ALIASES, "auto"})


def normalize_compression(value: str, name: str) -> Compression:
    """Turn a rule's compression value into a :class:`Compression`.

    "" and "auto" mean "look at the file name"; the extension aliases tidb-lightning accepts
    (gz/gzip, zst/zstd) are folded. Anything else (lz4, xz, snappy...) is not supported here
    and raises, naming the file, rather than importing compressed bytes as data.
    """
    lowered = value.strip().lower()
    if lowered in ("", "auto"):
        return compression_from_name(name)
    if lowered not in COMPRESSION_ALIASES:
        raise SourceError(f"unsupported compression {value!r}", path=name)
    return COMPRESSION_ALIASES[lowered]


def compression_from_name(name: str) -> Compression:
    """The compression a file name's last extension announces (NONE when none we know)."""
    ext = os.path.splitext(name)[1].lower().lstrip(".")
    return COMPRESSION_ALIASES.get(ext, Compression.NONE) if ext else Compression.NONE


class _Decoder(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes) -> bytes: ...


_DECODERS: dict[Compression, Callable[[], _Decoder]] = {
    Compression.GZIP: lambda: zlib.decompressobj(wbits=31),
    Compression.ZSTD: lambda: zstandard.ZstdDecompressor().decompressobj(),
}
_DECODE_ERRORS = (zlib.error, zstandard.ZstdError)


class _DecompressingReader(io.RawIOBase):
    """Decode a gzip or zstd file member after member (frame after frame), as read.

    Concatenated members are one stream, as ``gzip -c a b`` and ``zstd`` multi-frame files
    are. Decoder errors and a stream ending inside a member become SourceError with the
    number of decompressed bytes produced so far, and the compressed bytes read.
    """

    def __init__(self, raw: BinaryIO, path: str, compression: Compression) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._compression = compression
        self._decoder: _Decoder | None = None
        self._pending = bytearray()
        self._produced = 0
        self._consumed = 0  # compressed bytes read
        self._finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending and not self._finished:
            self._fill()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        del self._pending[:size]
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()

    def _fail(self, reason: str) -> SourceError:
        return SourceError(reason, path=self._path, offset=self._produced)

    def _fill(self) -> None:
        data = self._raw.read(_READ_SIZE)
        if not data:
            if self._decoder is not None and not self._decoder.eof:
                unit = "member" if self._compression == Compression.GZIP else "frame"
                raise self._fail(f"truncated {self._compression} stream: the file ends at compressed byte "
                                 f"{self._consumed}, inside a {unit}")
            self._finished = True
            return
        read_from = self._consumed
        self._consumed += len(data)
        while data:
            if self._decoder is None or self._decoder.eof:
                self._decoder = _DECODERS[self._compression]()
            try:
                out = self._decoder.decompress(data)
            except _DECODE_ERRORS as exc:
                raise self._fail(f"corrupt {self._compression} stream in compressed bytes {read_from}-"
                                 f"{self._consumed}: {exc}") from exc
            self._pending += out
            self._produced += len(out)
            data = self._decoder.unused_data if self._decoder.eof else b""


def open_source(path: str, compression: str, *, opener: Callable[[str], BinaryIO] = open_local) -> BinaryIO:
    """Open ``path`` for reading its decompressed bytes from the start.

    ``compression`` is "", "gzip" or "zstd" (aliases and "auto" are accepted too). Plain files
    come back as ordinary seekable binary files; compressed ones as forward-only buffered
    streams. Errors while decoding are raised by ``read`` as SourceError. ``opener`` opens the raw
    bytes: a local file by default, or an object through :meth:`.storage.ObjectStorage.open`.
    """
    codec = normalize_compression(compression, path)
    raw = opener(path)  # returned to the caller, who closes it
    if not codec:
        return raw
    return io.BufferedReader(_DecompressingReader(raw, path, codec), buffer_size=_READ_SIZE)


def skip_to(stream: BinaryIO, offset: int, *, path: str) -> None:
    """Position a stream from :func:`open_source` at ``offset``: seek a plain file, read through a
    compressed one (a resumed chunk of a .gz file re-reads, but never re-sends, what came before)."""
    if offset <= 0:
        return
    if stream.seekable():
        stream.seek(offset)
        return
    remaining = offset
    while remaining > 0:
        got = stream.read(min(remaining, 1 << 20))
        if not got:
            raise SourceError("the file is shorter than the checkpoint's position", path=path, offset=offset)
        remaining -= len(got)

"""``data-character-set`` and ``data-invalid-char-replace``: data decoded to UTF-8 as tidb-lightning decodes it.

tidb-lightning's ``CharsetConvertor`` decodes CSV data from ``gbk``, ``gb18030`` or ``latin1`` (Windows-1252)
to UTF-8 itself, and replaces each byte sequence the source character set cannot decode with
``data-invalid-char-replace`` (U+FFFD by default), so such a row is imported, not refused. ``binary``
and ``utf8mb4`` data is passed through untouched.

This provider sends data under ``SET NAMES`` of ``data-character-set`` and lets the server convert,
which refuses (strict ``sql-mode``) what tidb-lightning replaces. :class:`DataDecoder` is the decoding
step that gives tidb-lightning's result; it works block by block, so a multi-byte character split
across two read blocks is decoded once whole. The CSV reader is where it belongs: decode each block
after reading it, keep positions in source bytes, and send the result under ``SET NAMES utf8mb4``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable

from ..config.charsets import Charset

# What tidb-lightning decodes; everything else passes through as it is.
_ENCODINGS = {Charset.GBK: "gbk", Charset.GB18030: "gb18030", Charset.LATIN1: "cp1252"}
DEFAULT_REPLACEMENT = "\ufffd"


def needs_decoding(charset: Charset) -> bool:
    """Whether data in ``charset`` is decoded by tidb-lightning (and so by :class:`DataDecoder`)."""
    return charset in _ENCODINGS


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

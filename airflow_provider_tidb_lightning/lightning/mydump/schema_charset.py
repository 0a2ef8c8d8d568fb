"""``[mydumper] character-set``: the character set schema files are written in, decoded to UTF-8.

As tidb-lightning's ``decodeCharacterSet``: ``binary`` sends the bytes as they are; ``utf8mb4``
requires valid UTF-8; ``auto`` (the default) takes valid UTF-8 as it is and otherwise decodes
GB18030; a file that fits none fails with "invalid schema encoding", naming the file and the byte
offset of the first byte that does not fit. This provider also decodes ``gbk``, ``latin1`` (MySQL's
latin1, which is Windows-1252 with its five undefined bytes kept as the control characters of the
same number) and ``ascii``, which tidb-lightning refuses as unsupported.

A converted file is UTF-8 text: its own ``SET NAMES`` / ``SET CHARACTER SET`` statements no longer
describe it, and the schema step runs it under ``utf8mb4`` without them (:func:`is_set_names`).
"""

from __future__ import annotations

import codecs
import re

from ..config.charsets import Charset
from ..errors import SourceError

_ENCODINGS = {Charset.GB18030: "gb18030", Charset.GBK: "gbk", Charset.LATIN1: "mysql-latin1", Charset.ASCII: "ascii"}
_SET_NAMES = re.compile(rb"^(?:/\*!\d*\s*)?SET\s+(?:NAMES|CHARACTER\s+SET|CHARSET)\b", re.I)


# MySQL's latin1: cp1252, except that 0x81, 0x8D, 0x8F, 0x90 and 0x9D decode to U+0081 ... U+009D.
_MYSQL_LATIN1 = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def _decode(data: bytes, encoding: str) -> str:
    if encoding == "mysql-latin1":
        return codecs.charmap_decode(data, "strict", _MYSQL_LATIN1)[0]
    return data.decode(encoding)


class SchemaDecodeError(ValueError):
    """A schema file does not fit its character set; ``offset`` is the first byte that does not."""

    def __init__(self, charset: Charset, offset: int) -> None:
        self.offset = offset
        super().__init__(f"failed to decode the file as {charset.value}: invalid schema encoding; convert it to "
                         "UTF-8, or set [mydumper] character-set to the character set it is written in")


def decode_schema(data: bytes, charset: Charset) -> tuple[bytes, bool]:
    """``data`` as UTF-8, and whether it was converted; raises :class:`SchemaDecodeError`."""
    if charset is Charset.BINARY:
        return data, False
    if charset in (Charset.AUTO, Charset.UTF8MB4):
        try:
            data.decode("utf-8")
            return data, False
        except UnicodeDecodeError as exc:
            if charset is Charset.UTF8MB4:
                raise SchemaDecodeError(charset, exc.start) from None
        encoding = "gb18030"
    else:
        encoding = _ENCODINGS[charset]
    try:
        return _decode(data, encoding).encode("utf-8"), True
    except UnicodeDecodeError as exc:
        raise SchemaDecodeError(charset, exc.start) from None


def decode_schema_file(data: bytes, charset: Charset, path: str) -> tuple[bytes, bool]:
    """:func:`decode_schema` with the failure as a :class:`~..errors.SourceError` naming the file."""
    try:
        return decode_schema(data, charset)
    except SchemaDecodeError as exc:
        raise SourceError(str(exc), path=path, offset=exc.offset) from None


def is_set_names(statement: bytes) -> bool:
    """A ``SET NAMES`` / ``SET CHARACTER SET`` statement (also inside a ``/*!...*/`` version comment)."""
    return _SET_NAMES.match(statement) is not None

"""The character sets tidb-lightning reads dumps in, and what each means for this engine's session.

tidb-lightning decodes schema files and CSV data itself, and so does this engine (mydump/schema_charset.py,
mydump/data_charset.py); SQL data files are sent under ``SET NAMES`` of the file's character set and the
server converts them. One table here serves the loader (which names are valid, which spellings fold
together) and the importer (which ``SET NAMES`` a data file gets).
"""

from __future__ import annotations

from enum import StrEnum


class Charset(StrEnum):
    """``mydumper.character-set`` / ``mydumper.data-character-set`` values, as tidb-lightning spells them."""

    AUTO = "auto"  # schema files only: UTF-8, else GB18030
    UTF8MB4 = "utf8mb4"
    BINARY = "binary"
    GB18030 = "gb18030"
    GBK = "gbk"
    LATIN1 = "latin1"
    ASCII = "ascii"


# tidb-lightning's alternative spellings (config.ParseCharset): "utf8" is utf8mb4, "" is binary.
CHARSET_ALIASES: dict[str, Charset] = {"utf8": Charset.UTF8MB4, "": Charset.BINARY}

# Character sets tidb-lightning converts to UTF-8 itself (with data-invalid-char-replace for bytes the
# source charset cannot decode), and so does mydump/data_charset.py for CSV data; the others are passed
# through as they are.
CONVERTED_CHARSETS = frozenset({Charset.GB18030, Charset.GBK, Charset.LATIN1})


def parse_charset(name: str) -> Charset:
    """The Charset for ``name`` in any spelling tidb-lightning accepts; ValueError for anything else."""
    lowered = name.strip().lower()
    return CHARSET_ALIASES.get(lowered) or Charset(lowered)


def session_charset(name: str) -> str:
    """The ``SET NAMES`` character set that sends a file written in ``name`` unchanged to the server.

    "binary" (the default) and "auto" send bytes as they are; the rest are server character sets
    of the same name, which the server converts to the column's character set.
    """
    charset = parse_charset(name)
    return Charset.BINARY if charset is Charset.AUTO else charset

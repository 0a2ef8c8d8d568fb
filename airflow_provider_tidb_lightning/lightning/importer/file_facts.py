"""What the head of a data file says, read once per file however many chunks it has; and its stamp.

A SQL dump names the session its values were written in (``SET NAMES``, ``SET TIME_ZONE``), and a
CSV file with a header names its columns and where the data starts. Every chunk of the file needs
that, but only the first bytes of the file hold it.

A file's stamp is what a resume compares besides its path and size (``checkpoint.source-fingerprint``):
a checkpoint's positions are byte offsets, valid only in the bytes they were taken in, and a file
rewritten with the same size would otherwise resume in the middle of different rows.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass

from ..backend.tidb.writer import Session
from ..config.charsets import session_charset
from ..config.model import SourceFingerprint, TaskConfig
from ..errors import SourceError
from ..mydump.csv_parser import read_csv_header
from ..mydump.data_charset import decodes, open_data
from ..mydump.layout import DataFile
from ..mydump.parquet_parser import parquet_columns
from ..mydump.sql_parser import sniff_no_backslash_escapes, sniff_set_names, sniff_time_zone

_PLAIN_NAME = re.compile(r"^\w+$")
_HEAD_BYTES = 65536  # SET statements come first in a dump file
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileFacts:
    session: Session
    columns: tuple[str, ...] | None  # CSV header / Parquet columns, when they name the INSERT's columns
    header_end: int  # where a CSV file's data starts
    dump_no_backslash_escapes: bool = False  # a SQL dump's own SET SQL_MODE has NO_BACKSLASH_ESCAPES


class FileFactsCache:
    """:class:`FileFacts` per data file, read on first use; safe to share between writer threads."""

    def __init__(self, config: TaskConfig) -> None:
        self._config = config
        self._facts: dict[str, FileFacts] = {}
        self._lock = threading.Lock()

    def get(self, data_file: DataFile) -> FileFacts:
        with self._lock:
            facts = self._facts.get(data_file.relative)
        if facts is None:  # two threads may both read a head: the same answer, and no lock held over I/O
            facts = self._read(data_file)
            with self._lock:
                self._facts[data_file.relative] = facts
        return facts

    def _read(self, data_file: DataFile) -> FileFacts:
        """The session a file's values need (the dump's own ``SET NAMES`` / ``SET TIME_ZONE``, else the
        config's) and, for CSV with a header, its columns and where the data starts."""
        charset = time_zone = None
        dump_no_backslash_escapes = False
        columns: tuple[str, ...] | None = None
        header_end = 0
        csv = self._config.mydumper.csv
        if data_file.format == "parquet":  # UTF-8 strings, timestamps with a zone written in UTC
            with data_file.opener(data_file.path) as stream:
                return FileFacts(Session("utf8mb4", "+00:00"), parquet_columns(stream, data_file.relative), 0)
        with open_data(data_file, self._config.mydumper) as stream:
            if data_file.format == "sql":
                head = stream.read(_HEAD_BYTES)
                charset, time_zone = sniff_set_names(head), sniff_time_zone(head)
                dump_no_backslash_escapes = sniff_no_backslash_escapes(head)
            elif csv.header:
                header, header_end = read_csv_header(stream, path=data_file.relative, csv=csv)
                columns = header if csv.header_schema_match and header else None
        if charset is None and decodes(data_file, self._config.mydumper):
            charset = "utf8mb4"  # read as UTF-8 (mydump/data_charset.py)
        if charset is None:
            charset = session_charset(self._config.mydumper.data_character_set)
        if not _PLAIN_NAME.match(charset):
            raise SourceError(f"unsupported character set {charset!r} in SET NAMES", path=data_file.relative, offset=0)
        return FileFacts(Session(charset, time_zone), columns, header_end, dump_no_backslash_escapes)


def file_stamp(data_file: DataFile, kind: SourceFingerprint) -> str:
    """The file's modification time in nanoseconds (an object's ETag, or its modification time where the
    service gives no ETag), or the SHA-256 of its bytes as stored (compressed or not), or nothing, as
    ``checkpoint.source-fingerprint`` asks."""
    if kind is SourceFingerprint.SIZE:
        return ""
    if kind is SourceFingerprint.MTIME and data_file.version:
        return f"version:{data_file.version}"  # an object's ETag (or mtime) from the listing: no request
    try:
        if kind is SourceFingerprint.MTIME:
            return f"mtime:{os.stat(data_file.path).st_mtime_ns}"
        digest = hashlib.sha256()
        with data_file.opener(data_file.path) as f:  # an object is streamed by ranged GETs
            while block := f.read(_HASH_BLOCK):
                digest.update(block)  # hashlib releases the GIL on large blocks
        return f"sha256:{digest.hexdigest()}"
    except OSError as exc:
        raise SourceError(f"cannot read to fingerprint it: {exc.strerror or exc}", path=data_file.relative) from exc

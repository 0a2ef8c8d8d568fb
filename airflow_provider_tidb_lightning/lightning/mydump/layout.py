"""What discovery found in a dump directory: the shapes every later stage codes against.

The layout is plain data so that the schema step, the chunk scheduler and the checkpoint
store can read it without touching the file system again. Paths are kept twice: ``path``
(absolute, or an object's key, to open with ``opener``) and ``relative`` (to data-source-dir,
stable across machines, used in messages and checkpoint keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from .compression import Compression
from .file_rules import DataFormat
from .storage import open_local

Opener = Callable[[str], BinaryIO]


@dataclass(frozen=True)
class DataFile:
    """One SQL, CSV or Parquet data file of a source table."""

    path: str
    relative: str
    source_schema: str
    source_table: str
    target_schema: str
    target_table: str
    format: DataFormat
    compression: Compression
    size: int  # bytes on disk (compressed size for compressed files)
    sort_key: str  # the file number / rule key, for stable ordering
    version: str = ""  # an object's ETag or modification time, added to the checkpoint's fingerprint
    opener: Opener = field(default=open_local, compare=False, repr=False)  # the storage's open(path)


@dataclass(frozen=True)
class SchemaFile:
    """A ``-schema-create``, table ``-schema`` or ``-schema-view`` file.

    ``source_table`` is None for a database's schema-create file.
    """

    path: str
    relative: str
    source_schema: str
    source_table: str | None
    compression: Compression
    opener: Opener = field(default=open_local, compare=False, repr=False)  # the storage's open(path)


@dataclass
class TableSource:
    """A source table (or view) and where it goes.

    Several source tables may route to the same target (sharding merge); each keeps its own
    entry so its files and checkpoints stay separate. ``schema_file`` is None when the dump has
    no schema file for the table: the schema step decides whether the target must already
    have it. For a view (``is_view``), ``schema_file`` is the ``-schema-view.sql`` file and
    ``data_files`` is empty.
    """

    source_schema: str
    source_table: str
    target_schema: str
    target_table: str
    schema_file: SchemaFile | None
    data_files: list[DataFile]
    is_view: bool = False


@dataclass
class DatabaseSource:
    """A target database the import needs, and the source schema-create file to build it from.

    There is one entry per (source, target) pair that selected tables use: a table route that
    moves a table into another database adds an entry carrying the source database's
    schema-create file, so the schema step creates the target with the same options (after
    rewriting the database name to ``target_schema``).
    """

    source_schema: str
    target_schema: str
    schema_file: SchemaFile | None


@dataclass
class DumpLayout:
    """Everything selected for import below ``root``, plus what was skipped and why it is not an error."""

    root: str
    databases: list[DatabaseSource]
    tables: list[TableSource]  # tables and views (is_view)
    ignored: list[str]  # relative paths not imported: ignore rules, unmatched names, view placeholders


@dataclass(frozen=True)
class Chunk:
    """A byte range of a data file that one worker imports and checkpoints as a unit.

    ``start``/``end`` are offsets in the decompressed stream; ``end`` None means to the end of
    the file. A chunk of a split file always starts at the beginning of a statement (SQL) or
    a line (CSV); only the chunk starting at 0 holds a CSV header, if the file has one.
    """

    file: DataFile
    index: int
    start: int
    end: int | None

    @property
    def key(self) -> str:
        """Stable identity for checkpoints: survives moving the dump directory."""
        return f"{self.file.relative}:{self.index}"

"""What a checkpoint remembers: the task, each target table, each chunk and how far it got.

The same structure is kept by every driver (``mysql``: tables on the target, ``file``: a JSON
file, none: memory). A chunk's progress is a :class:`ChunkProgress`: the
:class:`~..mydump.rows.ReadPosition` after the last committed row (for SQL also the column list of
the statement that spans it, so a resumed reader continues mid-statement) and the rows committed.

Tables and chunks are frozen values. A store replaces them whole under its lock, so a position and
a row count always come from the same batch, and what a caller holds never changes under it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from ..mydump.rows import ReadPosition


class TableStatus(StrEnum):
    """Where a target table is in its import; stored by value, so the strings are the on-disk format."""

    PENDING = "pending"  # nothing done on the target yet
    SCHEMA = "schema-created"  # DDL done (or not needed), data being written
    DONE = "done"  # every chunk finished
    FAILED = "failed"  # stopped by a data error; needs --checkpoint-error-ignore/destroy


@dataclass(frozen=True, slots=True)
class ChunkProgress:
    """How far a chunk got: the rows up to ``position`` are committed, ``rows`` of them written.

    Never change the ``position`` inside: :class:`ReadPosition` is not frozen, so a new value is
    always built from a new ReadPosition.
    """

    position: ReadPosition
    rows: int = 0
    finished: bool = False


@dataclass(frozen=True)
class ChunkCheckpoint:
    key: str  # Chunk.key: "<relative path>:<index>"
    table: str  # the target table key, `db`.`tbl`
    path: str  # relative path of the data file
    file_size: int
    start: int
    end: int | None
    progress: ChunkProgress

    @property
    def hashed_key(self) -> str:
        return fixed_key(self.key)


@dataclass(frozen=True)
class TableCheckpoint:
    key: str  # `db`.`tbl` of the target
    status: TableStatus = TableStatus.PENDING
    target_id: str = ""  # identity of the target table when its schema step finished
    error: str = ""

    @property
    def hashed_key(self) -> str:
        return fixed_key(self.key)


@dataclass
class TaskCheckpoint:
    """A task's state as loaded or to be created: the dicts are the caller's own copy."""

    task_id: str
    fingerprint: str
    tables: dict[str, TableCheckpoint] = field(default_factory=dict)
    chunks: dict[str, ChunkCheckpoint] = field(default_factory=dict)

    def copy(self, task_id: str | None = None) -> TaskCheckpoint:
        """A copy whose dicts can change without touching this one (the values are frozen)."""
        return TaskCheckpoint(task_id or self.task_id, self.fingerprint, dict(self.tables), dict(self.chunks))


@lru_cache(maxsize=4096)
def fixed_key(text: str) -> str:
    """Fixed-width key for an id of any length (task, table, chunk), used in primary key columns."""
    return hashlib.sha1(text.encode()).hexdigest()


task_key = fixed_key


def columns_to_json(columns: tuple[str, ...] | None) -> str | None:
    return None if columns is None else json.dumps(list(columns))


def columns_from_json(text: str | bytes | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


def source_fingerprint(files: list[tuple[str, int]], stamps: dict[str, str] | None = None) -> str:
    """A hash of (relative path, size) of every data file, to notice a changed source cheaply.

    ``stamps`` adds what else identifies a file's content (its modification time or a hash, see
    ``checkpoint.source-fingerprint``); without stamps the hash is the size-only one of earlier versions.
    """
    digest = hashlib.sha256()
    for relative, size in sorted(files):
        stamp = (stamps or {}).get(relative)
        digest.update((f"{relative}\0{size}" + (f"\0{stamp}" if stamp else "") + "\n").encode())
    return digest.hexdigest()

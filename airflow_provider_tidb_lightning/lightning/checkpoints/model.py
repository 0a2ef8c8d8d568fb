"""What a checkpoint remembers: the task, each target table, each chunk and how far it got.

The same structure is kept by both drivers (``mysql``: tables on the target, ``file``: a JSON
file). A chunk's ``position`` is a :class:`~..source.rows.ReadPosition`: the byte offset after the
last committed row plus, for SQL, the column list of the statement that spans it, so a resumed
reader continues mid-statement without re-reading anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

from ..mydump.rows import ReadPosition

TABLE_PENDING = "pending"  # nothing done on the target yet
TABLE_SCHEMA = "schema-created"  # DDL done (or not needed), data being written
TABLE_DONE = "done"  # every chunk finished
TABLE_FAILED = "failed"  # stopped by a data error; needs --checkpoint-error-ignore/destroy


@dataclass
class ChunkCheckpoint:
    key: str  # Chunk.key: "<relative path>:<index>"
    table: str  # the target table key, `db`.`tbl`
    path: str  # relative path of the data file
    file_size: int
    start: int
    end: int | None
    position: ReadPosition
    rows: int = 0
    finished: bool = False

    @property
    def hashed_key(self) -> str:
        return fixed_key(self.key)


@dataclass
class TableCheckpoint:
    key: str  # `db`.`tbl` of the target
    status: str = TABLE_PENDING
    target_id: str = ""  # identity of the target table when its schema step finished
    error: str = ""

    @property
    def hashed_key(self) -> str:
        return fixed_key(self.key)


@dataclass
class TaskCheckpoint:
    task_id: str
    fingerprint: str
    tables: dict[str, TableCheckpoint] = field(default_factory=dict)
    chunks: dict[str, ChunkCheckpoint] = field(default_factory=dict)


@lru_cache(maxsize=4096)
def fixed_key(text: str) -> str:
    """Fixed-width key for an id of any length (task, table, chunk), used in primary key columns."""
    return hashlib.sha1(text.encode()).hexdigest()


task_key = fixed_key


def columns_to_json(columns: tuple[str, ...] | None) -> str | None:
    return None if columns is None else json.dumps(list(columns))


def columns_from_json(text: str | bytes | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


def source_fingerprint(files: list[tuple[str, int]]) -> str:
    """A hash of (relative path, size) of every data file, to notice a changed source cheaply."""
    digest = hashlib.sha256()
    for relative, size in sorted(files):
        digest.update(f"{relative}\0{size}\n".encode())
    return digest.hexdigest()

"""``[checkpoint] driver = "file"``: the checkpoint state in a local JSON file.

The file is replaced atomically (write to a temporary file, fsync, rename), at most once a second
for progress and at once for table status and finished chunks. Because progress is written after
the rows are committed, and not in the same transaction, a crash may lose up to a second of
progress: on resume those rows are sent again. With ``on-duplicate = "replace"`` or ``"ignore"``
that is harmless; with ``"error"`` use the ``mysql`` driver, which is exactly once.

Writing happens under the store's lock, from its own frozen values, so every chunk in the file
has a position and a row count of the same batch.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict
from typing import Any

from ..errors import CheckpointError
from ..mydump.rows import ReadPosition
from .model import ChunkCheckpoint, ChunkProgress, TableCheckpoint, TableStatus, TaskCheckpoint
from .store import MemoryStore

DEFAULT_PATH = os.path.join(tempfile.gettempdir(), "tidb_lightning_checkpoint.json")
FORMAT_VERSION = 1


class FileStore(MemoryStore):
    def __init__(self, path: str = "", *, flush_interval: float = 1.0) -> None:
        super().__init__()
        self.path = path or DEFAULT_PATH
        self.flush_interval = flush_interval
        self._last_write = float("-inf")  # the first save is written at once
        self._dirty = False
        if os.path.exists(self.path):
            self._tasks = _read(self.path)

    def _changed(self, urgent: bool) -> None:
        self._dirty = True
        now = time.monotonic()
        if urgent or now - self._last_write >= self.flush_interval:
            self._write()
            self._last_write = now

    def close(self) -> None:
        with self._lock:
            if self._dirty:
                self._write()

    def _write(self) -> None:
        payload = {"version": FORMAT_VERSION, "tasks": {tid: _task_to_dict(t) for tid, t in self._tasks.items()}}
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", dir=directory)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(payload, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise CheckpointError(
                    f"cannot save the checkpoint file {self.path}: {exc.strerror or exc}. Free space there or set "
                    "[checkpoint] dsn to a file on another disk, then rerun: it resumes from the last save"
                ) from exc
            raise
        self._dirty = False


def _task_to_dict(task: TaskCheckpoint) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "fingerprint": task.fingerprint,
        "tables": [asdict(t) for t in task.tables.values()],
        "chunks": [_chunk_to_dict(c) for c in task.chunks.values()],
    }


def _chunk_to_dict(chunk: ChunkCheckpoint) -> dict[str, Any]:
    """Flat, as format version 1 has always had it: position, rows and finished beside the chunk's identity."""
    p = chunk.progress
    return {"key": chunk.key, "table": chunk.table, "path": chunk.path, "file_size": chunk.file_size,
            "start": chunk.start, "end": chunk.end, "position": asdict(p.position), "rows": p.rows,
            "finished": p.finished}


def _read(path: str) -> dict[str, TaskCheckpoint]:
    try:
        with open(path) as f:
            payload = json.load(f)
        if payload.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown format version {payload.get('version')!r}")
        tasks = {}
        for tid, t in payload["tasks"].items():
            task = TaskCheckpoint(tid, t["fingerprint"])
            for table in t["tables"]:
                task.tables[table["key"]] = TableCheckpoint(**(table | {"status": TableStatus(table["status"])}))
            for c in t["chunks"]:
                pos = c.pop("position")
                columns = pos.get("columns")
                position = ReadPosition(pos["offset"], tuple(columns) if columns is not None else None,
                                        pos.get("in_values", False))
                progress = ChunkProgress(position, c.pop("rows"), c.pop("finished"))
                task.chunks[c["key"]] = ChunkCheckpoint(progress=progress, **c)
            tasks[tid] = task
        return tasks
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"cannot read checkpoint file {path}: {exc}") from exc

"""From a discovered dump to units of work: target tables, their chunks, and the checkpoint to match.

Planning is pure (no server): it groups the layout's source tables by routed target, splits data
files into chunks, and compares a saved checkpoint with what is on disk now, so a changed source is
reported instead of silently skipping or doubling rows. The plan is frozen: threads share it and
nothing writes to it; what a run did is counted in :mod:`.stats`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass

from ..checkpoints.model import (
    ChunkCheckpoint,
    ChunkProgress,
    TableCheckpoint,
    TableStatus,
    TaskCheckpoint,
    source_fingerprint,
)
from ..common.quoting import quote_table
from ..config.model import TaskConfig
from ..config.storage_url import is_remote, parse_storage_url, source_identity
from ..errors import CheckpointError
from ..mydump.layout import Chunk, DatabaseSource, DumpLayout, TableSource
from ..mydump.region import split_chunks
from ..mydump.rows import ReadPosition
from .file_facts import file_stamp


@dataclass(frozen=True)
class TableJob:
    """One target table: every source table routed to it and all their chunks."""

    key: str  # `db`.`tbl`
    schema: str
    table: str
    sources: tuple[TableSource, ...]
    chunks: tuple[Chunk, ...]

    @property
    def schema_source(self) -> TableSource:
        """The source whose schema file creates the target (the first one that has one)."""
        return next((s for s in self.sources if s.schema_file is not None), self.sources[0])


@dataclass(frozen=True)
class Plan:
    databases: tuple[DatabaseSource, ...]  # one per target database, in order of first use
    tables: tuple[TableJob, ...]
    views: tuple[TableSource, ...]
    fingerprint: str

    def new_checkpoint(self, task_id: str) -> TaskCheckpoint:
        task = TaskCheckpoint(task_id, self.fingerprint)
        for job in self.tables:
            task.tables[job.key] = TableCheckpoint(job.key, TableStatus.PENDING)
            for chunk in job.chunks:
                task.chunks[chunk.key] = ChunkCheckpoint(
                    chunk.key, job.key, chunk.file.relative, chunk.file.size, chunk.start, chunk.end,
                    ChunkProgress(ReadPosition(chunk.start)),
                )
        return task


def build_plan(layout: DumpLayout, config: TaskConfig) -> Plan:
    sources: dict[str, list[TableSource]] = {}
    chunks: dict[str, list[Chunk]] = {}
    views: list[TableSource] = []
    sizes: list[tuple[str, int]] = []
    stamps: dict[str, str] = {}
    for source in layout.tables:
        if source.is_view:
            views.append(source)
            continue
        key = quote_table(source.target_schema, source.target_table)
        sources.setdefault(key, []).append(source)
        for data_file in source.data_files:
            sizes.append((data_file.relative, data_file.size))
            stamps[data_file.relative] = file_stamp(data_file, config.checkpoint.source_fingerprint)
            chunks.setdefault(key, []).extend(split_chunks(data_file, config.mydumper))
    jobs = tuple(TableJob(key, found[0].target_schema, found[0].target_table, tuple(found), tuple(chunks.get(key, ())))
                 for key, found in sources.items())
    return Plan(tuple(_target_databases(layout)), jobs, tuple(views),
                source_fingerprint(sizes, stamps))


def _target_databases(layout: DumpLayout) -> list[DatabaseSource]:
    """One entry per target database: the layout's (with its schema-create file) or a bare default."""
    found: dict[str, DatabaseSource] = {}
    for database in layout.databases:
        if database.target_schema not in found or found[database.target_schema].schema_file is None:
            found[database.target_schema] = database
    for source in layout.tables:
        found.setdefault(source.target_schema, DatabaseSource(source.source_schema, source.target_schema, None))
    return list(found.values())


def derive_task_id(config: TaskConfig) -> str:
    """A task id from what is imported where, but not from the host or port of the target.

    Moving the target behind another address (a new load balancer, a failover) must not make a
    rerun start over, so only the source, its selection and its routing count. An object storage
    URL counts without its credentials: a rotated key resumes the same task, and no secret is in the id.
    """
    m = config.mydumper
    remote = is_remote(m.data_source_dir)
    identity = {
        "source": source_identity(m.data_source_dir) if remote else os.path.abspath(m.data_source_dir),
        "filter": list(m.filter),
        "files": [asdict(r) for r in m.files],
        "routes": [asdict(r) for r in config.routes],
        "no_schema": m.no_schema,
    }
    digest = hashlib.sha1(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    if remote:
        url = parse_storage_url(m.data_source_dir)
        name = url.prefix.rpartition("/")[2] or url.bucket
    else:
        name = os.path.basename(os.path.normpath(m.data_source_dir))
    return f"{name or 'import'}-{digest}"


def check_resumable(saved: TaskCheckpoint, plan: Plan, new: TaskCheckpoint) -> None:
    """Refuse to resume when the source changed or a table failed, saying what to do instead."""
    failed = [t for t in saved.tables.values() if t.status == TableStatus.FAILED]
    if failed:
        lines = "; ".join(f"{t.key}: {t.error}" for t in failed)
        raise CheckpointError(
            f"task {saved.task_id}: an earlier run failed on {len(failed)} table(s): {lines}. Fix the cause, then "
            "either keep what was written and continue (tidb-lightning-py-ctl --checkpoint-error-ignore=all) or "
            "drop what the failed tables received and import them again (tidb-lightning-py-ctl "
            "--checkpoint-error-destroy=all)"
        )
    if saved.fingerprint == plan.fingerprint and set(saved.chunks) == set(new.chunks):
        return
    old_files = {c.path: c.file_size for c in saved.chunks.values()}
    new_files = {c.path: c.file_size for c in new.chunks.values()}
    added = sorted(set(new_files) - set(old_files))
    removed = sorted(set(old_files) - set(new_files))
    resized = [f"{p} (was {old_files[p]} bytes, now {new_files[p]})"
               for p in sorted(set(old_files) & set(new_files)) if old_files[p] != new_files[p]]
    parts = [f"{label}: {', '.join(items[:10])}{' ...' if len(items) > 10 else ''}"
             for label, items in (("added", added), ("removed", removed), ("resized", resized)) if items]
    if not parts and set(saved.chunks) == set(new.chunks):
        parts = ["a data file was rewritten in place: same names and sizes, but a different modification time or "
                 "content (checkpoint.source-fingerprint)"]
    what = "; ".join(parts) or (
        "the files split into different chunks (mydumper.max-region-size or strict-format changed)")
    raise CheckpointError(
        f"task {saved.task_id}: the source changed since the checkpoint was saved ({what}). Resuming would skip or "
        "double rows. Restore the original files (with their modification times: cp -p), or start over with "
        "tidb-lightning-py-ctl --checkpoint-remove=all (and clear the target tables if they hold rows of the earlier "
        "run)"
    )

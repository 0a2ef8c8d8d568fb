"""``--dry-run`` / ``dry_run=True``: what an import would do, and what would stop it, without writing anything.

The plan is the import's own (discovery, routing, chunking); the pre-checks run whatever
``check-requirements`` says, since a dry run is asked precisely to learn what would go wrong. The
estimated time comes from the pre-checks' sample: the rate at which this machine reads and encodes
the dump's first rows on one thread. The server's insert speed cannot be measured without
inserting, so the estimate is a lower bound; the summary of a real run gives the true rate.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from ..config.model import TaskConfig
from ..errors import LightningError
from ..mydump.discovery import discover
from ..mydump.storage import open_storage
from .chunk_step import chunk_size
from .plan import build_plan, derive_task_id
from .precheck import run_checks
from .refresh import plan_for
from .sample import sample_tables


@dataclass(frozen=True)
class PlannedTable:
    table: str  # `db`.`tbl` of the target
    files: int
    chunks: int
    bytes: int  # source bytes on disk (a compressed file counts its compressed size)


@dataclass
class DryRunReport:
    task_id: str
    tables: list[PlannedTable]
    views: int
    server: str  # "" when the target was not reached
    sampled_bytes: int = 0
    sampled_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    @property
    def estimated_seconds(self) -> float | None:
        """Read-and-encode time of the whole dump at the sampled rate; None without a sample."""
        if self.sampled_bytes <= 0 or self.sampled_seconds <= 0:
            return None
        return self.total_bytes / (self.sampled_bytes / self.sampled_seconds)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (XCom, ``--dry-run`` with ``--summary``-style output)."""
        estimate = self.estimated_seconds
        return {
            "task_id": self.task_id,
            "dry_run": True,
            "server": self.server,
            "total_bytes": self.total_bytes,
            "total_chunks": sum(t.chunks for t in self.tables),
            "views": self.views,
            "estimated_seconds": round(estimate, 3) if estimate is not None else None,
            "tables": [asdict(t) for t in self.tables],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }

    def to_text(self) -> str:
        """The plan as a person reads it on a terminal."""
        width = max([len(t.table) for t in self.tables] + [5])
        lines = [f"dry run of task {self.task_id}: nothing was written",
                 f"target: {self.server or 'not reached'}",
                 f"{'table':<{width}}  {'files':>5}  {'chunks':>6}  {'MB':>10}"]
        lines += [f"{t.table:<{width}}  {t.files:>5}  {t.chunks:>6}  {t.bytes / 1e6:>10.1f}" for t in self.tables]
        lines.append(f"{len(self.tables)} table(s), {self.views} view(s), "
                     f"{sum(t.chunks for t in self.tables)} chunk(s), {self.total_bytes / 1e6:.1f} MB")
        estimate = self.estimated_seconds
        if estimate is not None:
            lines.append(f"estimated time: at least {estimate:.1f} s (reading and encoding at "
                         f"{self.sampled_bytes / self.sampled_seconds / 1e6:.1f} MB/s on one thread, from a "
                         f"{self.sampled_bytes / 1e6:.1f} MB sample; the server's insert speed adds to it)")
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"problem: {p}" for p in self.problems]
        lines.append("pre-checks: " + (f"{len(self.problems)} problem(s)" if self.problems else "passed"))
        return "\n".join(lines)


def dry_run(config: TaskConfig, *, task_id: str | None = None, filesystem: Any | None = None,
            log: logging.Logger | None = None) -> DryRunReport:
    """Plan the import and run the pre-checks; opens no checkpoint that does not exist yet and writes nothing.

    ``filesystem`` holds an object storage source's credentials, as for :func:`.run.run_import`.
    """
    log = log or logging.getLogger("airflow_provider_tidb_lightning")
    storage = open_storage(config.mydumper.data_source_dir, filesystem=filesystem)
    layout = discover(config.mydumper, config.routes, storage)
    task_id = task_id or derive_task_id(config)
    plan, _ = plan_for(config, build_plan(layout, config), task_id, log, storage)
    findings = run_checks(config, plan, task_id)
    samples = findings.samples
    if not findings.server:  # the target was not reached: still measure the read rate, without its column types
        try:
            samples = sample_tables(config, plan, {})
        except LightningError as exc:
            findings.warnings.append(f"reading a sample of the source stopped at a bad row: {exc}")
    tables = [PlannedTable(job.key, len({c.file.relative for c in job.chunks}), len(job.chunks),
                           sum(chunk_size(c) for c in job.chunks)) for job in plan.tables]
    return DryRunReport(task_id, tables, len(plan.views), findings.server,
                        sum(s.bytes for s in samples), sum(s.seconds for s in samples),
                        findings.problems, findings.warnings)

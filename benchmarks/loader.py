"""What the harness knows about a loader: its name, what it reads, how to run it against a target.

Peers (:mod:`peers`) and our engine's variants (:mod:`ours`) are described the same way so the
run loop, the checks and the report treat them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.measure import Measurement
from benchmarks.server import ScratchServer
from benchmarks.tpch_data import Dataset

SQL_INPUT = "SQL dump"
CSV_INPUT = ".tbl"


@dataclass(frozen=True)
class Target:
    """One loader's destination: a fresh database on the shared server, plus where its files go."""

    server: ScratchServer
    dataset: Dataset
    database: str
    work_dir: Path

    def log_path(self, name: str) -> Path:
        return self.work_dir / f"{name}.log"


@dataclass(frozen=True)
class Loader:
    """A way of loading the TPC-H data.

    ``input`` is :data:`SQL_INPUT` or :data:`CSV_INPUT` and decides the MB/s denominator;
    ``precreate_schema`` asks the harness to create the empty tables first (for loaders that only
    move rows); ``probe`` returns why the loader cannot run here, or None when it can.
    """

    name: str
    input: str
    precreate_schema: bool
    load: Callable[[Target], Measurement]
    probe: Callable[[Path], str | None] = lambda _work_dir: None
    ours: bool = False


NOT_AVAILABLE = "not available"
FAILED = "FAILED"
OK = "ok"


@dataclass
class Outcome:
    """What one loader did: its status, its measurement, and what it left in its database."""

    loader: Loader
    status: str
    measurement: Measurement | None = None
    detail: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, int | None] = field(default_factory=dict)

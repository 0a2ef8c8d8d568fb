"""What an import did, per table and in total, in a form callers can log or put in XCom."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TableSummary:
    table: str  # `db`.`tbl` of the target
    status: str  # done | skipped (finished by an earlier run) | failed
    rows: int = 0  # rows written by this run
    bytes: int = 0  # source bytes read by this run
    seconds: float = 0.0
    skipped_rows: int = 0  # bad rows and duplicates left out (recorded in the task-info schema)
    type_errors: int = 0
    conflicts: int = 0
    import_rows: int = 0  # rows of the whole import in this table: every run, try and worker (from the checkpoint)


@dataclass
class ImportSummary:
    task_id: str
    tables: list[TableSummary] = field(default_factory=list)
    seconds: float = 0.0
    resumed: bool = False  # True when an earlier run's checkpoint was continued
    worker: dict[str, Any] | None = None  # a shared import: this worker's name, chunks claimed, whether it finished

    @property
    def total_rows(self) -> int:
        """Rows this run wrote."""
        return sum(t.rows for t in self.tables)

    @property
    def import_total_rows(self) -> int:
        """Rows the whole import wrote: with earlier tries of a resumed import and the other workers of a shared one."""
        return sum(t.import_rows for t in self.tables)

    def add_import_rows(self, rows: dict[str, int] | None) -> None:
        """Fill in the whole import's rows per table from the checkpoint (None: not known, this run's own)."""
        for table in self.tables:
            table.import_rows = table.rows if rows is None else rows.get(table.table, table.rows)

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for XCom, logs and the command line's --summary output)."""
        return {
            "task_id": self.task_id,
            "resumed": self.resumed,
            "seconds": round(self.seconds, 3),
            "total_rows": self.total_rows,
            "total_bytes": self.total_bytes,
            "import_total_rows": self.import_total_rows,
            "tables": [asdict(t) | {"seconds": round(t.seconds, 3)} for t in self.tables],
        } | ({"worker": self.worker} if self.worker is not None else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportSummary:
        """The summary :meth:`to_dict` gave (as a finished record keeps it)."""
        tables = [TableSummary(**t) for t in data["tables"]]
        return cls(data["task_id"], tables, float(data["seconds"]), bool(data["resumed"]), data.get("worker"))

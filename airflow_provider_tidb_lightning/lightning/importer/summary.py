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


@dataclass
class ImportSummary:
    task_id: str
    tables: list[TableSummary] = field(default_factory=list)
    seconds: float = 0.0
    resumed: bool = False  # True when an earlier run's checkpoint was continued

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

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
            "tables": [asdict(t) | {"seconds": round(t.seconds, 3)} for t in self.tables],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportSummary:
        """The summary :meth:`to_dict` gave (as a finished record keeps it)."""
        tables = [TableSummary(**t) for t in data["tables"]]
        return cls(data["task_id"], tables, float(data["seconds"]), bool(data["resumed"]))

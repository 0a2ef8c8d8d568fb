"""``[lightning] status-addr`` / ``--status-addr``: Prometheus ``/metrics`` and ``/progress/task`` over HTTP.

As tidb-lightning's status port, for watching a long import from outside: Prometheus scrapes
``/metrics``, a person or a script reads ``/progress/task``. Both are computed from one
:class:`StatusSnapshot` at request time, so the import's hot path does nothing for them: no
counter is incremented per batch, the numbers are the run's own (:mod:`.stats`, the table step,
the scheduler). Metric names are tidb-lightning's where one fits:

* ``lightning_tables{state, result}``: tables per checkpoint state (pending, schema-created, done, failed);
* ``lightning_chunks{state}``: chunks pending, running and finished;
* ``lightning_bytes{state}``: source bytes ``total`` and ``read``, and value bytes ``written``;
* ``lightning_rows{state="written"}``: rows committed by this run;
* ``lightning_import_seconds``: histogram of the time each finished table took (first to last batch).

This module holds what the importer builds; the server (:mod:`.status_server`, ``http.server`` and
prometheus-client) is imported only when an address is set, not at every start of every import.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class StatusSnapshot:
    """The import as it stands; built by the importer on each request."""

    task_id: str
    phase: str  # checking | schema | data | finished | failed
    tables: dict[str, str]  # `db`.`tbl` -> checkpoint state
    chunks: dict[str, int]  # pending | running | finished -> count
    rows: int
    bytes_read: int
    bytes_total: int
    bytes_written: int
    elapsed_seconds: float
    table_seconds: list[float] = field(default_factory=list)  # of finished tables

    def progress(self) -> dict[str, Any]:
        """``/progress/task``: the snapshot plus percent done and an ETA at the rate so far."""
        rate = self.bytes_read / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0
        left = max(self.bytes_total - self.bytes_read, 0)
        body = asdict(self)
        body.pop("table_seconds")
        body["percent"] = round(100.0 * self.bytes_read / self.bytes_total, 2) if self.bytes_total else 100.0
        body["eta_seconds"] = round(left / rate, 1) if rate > 0 else None
        return body


def parse_status_addr(addr: str) -> tuple[str, int]:
    """``host:port`` or ``:port`` (all interfaces, as in tidb-lightning) -> (host, port)."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"expected host:port or :port, got {addr!r}", key="lightning.status-addr")
    return host.strip("[]") or "0.0.0.0", int(port)

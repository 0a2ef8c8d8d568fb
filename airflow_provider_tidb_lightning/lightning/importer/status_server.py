"""The HTTP server behind ``[lightning] status-addr`` (see :mod:`.status`): ``/metrics`` and ``/progress/task``.

A standard-library ``ThreadingHTTPServer`` on a daemon thread; prometheus-client only formats the metrics.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from ..errors import ConfigError
from .status import StatusSnapshot, parse_status_addr

# tidb-lightning's buckets for lightning_import_seconds: 0.125 s doubling six times, then +Inf.
_SECONDS_BUCKETS = tuple(0.125 * 2**i for i in range(6))


class _ImportCollector(Collector):
    def __init__(self, snapshot: Callable[[], StatusSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        tables = GaugeMetricFamily("lightning_tables", "Tables by checkpoint state", labels=["state", "result"])
        counts: dict[str, int] = {}
        for state in snap.tables.values():
            counts[state] = counts.get(state, 0) + 1
        for state in ("pending", "schema-created", "done", "failed"):
            tables.add_metric([state, "failure" if state == "failed" else "success"], counts.get(state, 0))
        yield tables
        chunks = GaugeMetricFamily("lightning_chunks", "Chunks by state", labels=["state"])
        for state in ("pending", "running", "finished"):
            chunks.add_metric([state], snap.chunks.get(state, 0))
        yield chunks
        size = GaugeMetricFamily("lightning_bytes", "Source bytes in all and read, value bytes written",
                                 labels=["state"])
        size.add_metric(["total"], snap.bytes_total)
        size.add_metric(["read"], snap.bytes_read)
        size.add_metric(["written"], snap.bytes_written)
        yield size
        rows = GaugeMetricFamily("lightning_rows", "Rows committed by this run", labels=["state"])
        rows.add_metric(["written"], snap.rows)
        yield rows
        buckets = [(f"{bound:g}", sum(1 for s in snap.table_seconds if s <= bound)) for bound in _SECONDS_BUCKETS]
        buckets.append(("+Inf", len(snap.table_seconds)))
        yield HistogramMetricFamily("lightning_import_seconds", "Time needed to import a table", buckets=buckets,
                                    sum_value=sum(snap.table_seconds))


class StatusServer:
    """``/metrics`` and ``/progress/task`` on ``addr`` until :meth:`close`; ``port`` is the bound one (``:0``)."""

    def __init__(self, addr: str, snapshot: Callable[[], StatusSnapshot]) -> None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_ImportCollector(snapshot))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, generate_latest(registry), "text/plain; version=0.0.4; charset=utf-8")
                elif path == "/progress/task":
                    self._send(200, json.dumps(snapshot().progress()).encode(), "application/json")
                else:
                    self._send(404, b"not found: try /metrics or /progress/task\n", "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                """Scrapes every few seconds would drown the import's log."""

        host, port = parse_status_addr(addr)
        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {addr}: {exc.strerror or exc}", key="lightning.status-addr") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="lightning-status", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def serve_status(addr: str, snapshot: Callable[[], StatusSnapshot], log: logging.Logger) -> Iterator[None]:
    """Serve while the block runs."""
    server = StatusServer(addr, snapshot)
    log.info("status: http://%s:%d/metrics and /progress/task", parse_status_addr(addr)[0], server.port)
    try:
        yield
    finally:
        server.close()

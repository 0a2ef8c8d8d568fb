"""``[lightning] status-addr``: /metrics and /progress/task scraped while a real import runs."""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from airflow_provider_tidb_lightning.lightning.importer.status import parse_status_addr
from tests.support.db_checks import TPCH_COUNTS
from tests.support.engine_helpers import task_config
from tests.support.hold import Hold


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_and_progress_during_an_import(db_server, sample_dir: Path, fresh_db: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    config = task_config(
        db_server, sample_dir / "mydumper-sql", fresh_db,
        mydumper={"filter": ["tpch.lineitem"]},
        # Port 0: the server binds a port the kernel picks (one picked here could be taken before the import
        # binds it), and the log says which.
        lightning={"status-addr": "127.0.0.1:0", "region-concurrency": 1},
        tikv_importer={"logical-import-batch-rows": 100},
    )
    files = sorted((sample_dir / "mydumper-sql").glob("tpch.lineitem.*.sql"))
    outcome: dict[str, object] = {}
    worker = threading.Thread(target=lambda: outcome.update(summary=run_import(config)), daemon=True)
    # The scrape lands mid-import: the writer is held after its third batch until both endpoints were read.
    with Hold(tmp_path / "hold") as hold, caplog.at_level(logging.INFO):
        hold.install(monkeypatch, "batch-committed:3")
        worker.start()
        assert hold.wait_in_process(worker.is_alive), outcome
        served = re.search(r"status: http://127\.0\.0\.1:(\d+)/metrics and /progress/task", caplog.text)
        assert served is not None, caplog.text
        port = int(served[1])
        during = _samples(_get(f"http://127.0.0.1:{port}/metrics").decode())
        progress = json.loads(_get(f"http://127.0.0.1:{port}/progress/task"))
    worker.join(120)
    assert 0 < during[("lightning_rows", (("state", "written"),))] < TPCH_COUNTS["lineitem"]
    assert during[("lightning_bytes", (("state", "total"),))] == sum(f.stat().st_size for f in files)
    assert 0 < during[("lightning_bytes", (("state", "read"),))] < sum(f.stat().st_size for f in files)
    chunks = {state: during[("lightning_chunks", (("state", state),))] for state in ("pending", "running", "finished")}
    assert sum(chunks.values()) == len(files) and chunks["running"] == 1, chunks  # one writer
    assert during[("lightning_tables", (("result", "success"), ("state", "schema-created")))] == 1
    assert progress["phase"] == "data"
    assert progress["task_id"] == outcome["summary"].task_id  # type: ignore[attr-defined]
    assert 0 < progress["percent"] < 100 and progress["rows"] >= during[("lightning_rows", (("state", "written"),))]
    assert outcome["summary"].total_rows == TPCH_COUNTS["lineitem"]  # type: ignore[attr-defined]
    with pytest.raises(OSError):  # the endpoint goes away with the import
        _get(f"http://127.0.0.1:{port}/metrics")


def test_status_addr_forms() -> None:
    assert parse_status_addr(":8289") == ("0.0.0.0", 8289)
    assert parse_status_addr("127.0.0.1:0") == ("127.0.0.1", 0)
    with pytest.raises(ConfigError, match="lightning.status-addr"):
        parse_status_addr("8289")

"""``TIDB_LIGHTNING_PY_HOLD_AT``: the n-th time a point is reached, the thread waits for the test's release file."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.common import failpoint


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failpoint, "_counts", {})


def test_the_nth_arrival_waits_for_the_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counts) -> None:
    monkeypatch.setenv("TIDB_LIGHTNING_PY_HOLD_AT", "batch-sent:2")
    monkeypatch.setenv("TIDB_LIGHTNING_PY_HOLD_DIR", str(tmp_path))
    failpoint.fault_point("batch-sent")  # the first arrival goes through
    failpoint.fault_point("batch-committed")  # another point does not count
    assert list(tmp_path.iterdir()) == []

    arrived = threading.Thread(target=failpoint.fault_point, args=("batch-sent",), daemon=True)
    arrived.start()
    marker = tmp_path / f"held-{os.getpid()}"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists()
    arrived.join(timeout=0.2)  # however long this is, a hold never ends by itself
    assert arrived.is_alive()
    (tmp_path / "release").touch()
    arrived.join(timeout=60)
    assert not arrived.is_alive()
    failpoint.fault_point("batch-sent")  # the third arrival goes through again


def test_a_hold_needs_its_directory(monkeypatch: pytest.MonkeyPatch, counts) -> None:
    monkeypatch.setenv("TIDB_LIGHTNING_PY_HOLD_AT", "chunk-finished:1")
    monkeypatch.delenv("TIDB_LIGHTNING_PY_HOLD_DIR", raising=False)
    with pytest.raises(ValueError, match="TIDB_LIGHTNING_PY_HOLD_DIR"):
        failpoint.fault_point("chunk-finished")

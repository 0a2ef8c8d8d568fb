"""A data file rewritten with the same size between a failed run and its resume is refused, not half-imported.

Before, the checkpoint compared sizes only: the resumed run continued at byte offsets of the old
file in the new one, and the target ended with rows from neither version. The modification time
(``checkpoint.source-fingerprint = "mtime"``, the default) catches an ordinary rewrite;
``"content"`` catches even an edit that put the old time back, and resumes after a mere ``touch``.
Each case fails a real import half-way (``TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES``) and reruns it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.common import failpoint as faults
from airflow_provider_tidb_lightning.lightning.common.failpoint import InjectedFault
from airflow_provider_tidb_lightning.lightning.errors import CheckpointError
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from tests.support.checkpoint_checks import assert_consistent_after_crash, assert_exact, target_counts
from tests.support.engine_helpers import task_config

TABLES = ("nation", "orders")


def _source(sample_sql: Path, directory: Path) -> Path:
    directory.mkdir()
    for path in sample_sql.iterdir():
        if path.name == "tpch-schema-create.sql" or any(path.name.startswith(f"tpch.{t}.") or
                                                       path.name.startswith(f"tpch.{t}-") for t in TABLES):
            shutil.copy2(path, directory)
    return directory


def _same_size_edit(path: Path) -> None:
    """Swap two digits of the last row: the same size, other values."""
    data = bytearray(path.read_bytes())
    at = data.rindex(b"(") + 1
    data[at] = ord("9") if data[at] != ord("9") else ord("8")
    path.write_bytes(bytes(data))


def _fail_half_way(db_server, config, target, monkeypatch) -> None:
    monkeypatch.setattr(faults, "_counts", {})
    monkeypatch.setenv("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES", "5")
    with pytest.raises(InjectedFault):
        run_import(config, task_id="edited")
    monkeypatch.delenv("TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES")
    with db_server.connect() as conn:
        assert_consistent_after_crash(conn, target, "edited")


def _config(db_server, source: Path, target: str, fingerprint: str | None = None):
    checkpoint = {"source-fingerprint": fingerprint} if fingerprint else {}
    return task_config(db_server, source, target, mydumper={"filter": [f"tpch.{t}" for t in TABLES]},
                       lightning={"region-concurrency": 1},
                       tikv_importer={"on-duplicate": "error", "logical-import-batch-size": "16KiB"},
                       checkpoint=checkpoint)


@pytest.mark.parametrize("fingerprint", [None, "content"], ids=["mtime-default", "content"])
def test_a_same_size_rewrite_is_refused(db_server, target, reference_db, sample_sql, tmp_path, monkeypatch,
                                       fingerprint):
    source = _source(sample_sql, tmp_path / "dump")
    config = _config(db_server, source, target, fingerprint)
    _fail_half_way(db_server, config, target, monkeypatch)
    with db_server.connect() as conn:
        before = target_counts(conn, target)

    orders = source / "tpch.orders.sql"
    original, stat = orders.read_bytes(), orders.stat()
    _same_size_edit(orders)
    assert orders.stat().st_size == stat.st_size
    if fingerprint == "content":  # the edit even put the old time back: only the content tells
        os.utime(orders, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(CheckpointError, match="a data file was rewritten in place: same names and sizes, but a "
                                              "different modification time or content"):
        run_import(config, task_id="edited")
    with db_server.connect() as conn:
        assert target_counts(conn, target) == before, "nothing is written after the refusal"

    orders.write_bytes(original)  # the documented way out: the original file, with its time
    os.utime(orders, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run_import(config, task_id="edited").resumed
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, TABLES)


def test_content_fingerprint_resumes_after_a_mere_touch(db_server, target, reference_db, sample_sql, tmp_path,
                                                        monkeypatch):
    source = _source(sample_sql, tmp_path / "dump")
    config = _config(db_server, source, target, "content")
    _fail_half_way(db_server, config, target, monkeypatch)
    os.utime(source / "tpch.orders.sql")  # a new time, the same bytes (a copy without -p)
    assert run_import(config, task_id="edited").resumed
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, TABLES)

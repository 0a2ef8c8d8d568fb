"""The ``file`` checkpoint driver: a JSON file, replaced atomically, progress saved at most once a second.

Progress is saved after the rows commit, not with them, so a crash can leave the target ahead of
the file: the rerun sends those rows again (at least once). With ``on-duplicate = "replace"`` the
result is still exact, which is what these tests hold it to.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints import FileStore, open_store
from airflow_provider_tidb_lightning.lightning.checkpoints import file_store as file_store_module
from airflow_provider_tidb_lightning.lightning.checkpoints.model import (
    ChunkCheckpoint,
    ChunkProgress,
    TableCheckpoint,
    TableStatus,
    TaskCheckpoint,
)
from airflow_provider_tidb_lightning.lightning.config.model import CheckpointSection
from airflow_provider_tidb_lightning.lightning.errors import CheckpointError
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition
from tests.support.checkpoint_checks import TOTAL_ROWS, assert_exact, target_counts
from tests.support.cli_task import run_cli, summary_of, write_task


def _file_rows(path: Path, task_id: str) -> dict[str, int]:
    """Rows per target table that the checkpoint file counts as written."""
    payload = json.loads(path.read_text())
    rows: dict[str, int] = {}
    for chunk in payload["tasks"][task_id]["chunks"]:
        table = chunk["table"].split("`.`")[1].rstrip("`")
        rows[table] = rows.get(table, 0) + chunk["rows"]
    return rows


@pytest.mark.parametrize("point", ["batch-committed:40", "batch-committed:300", "chunk-finished:2",
                                   "table-finished:1"])
def test_killed_run_resumes_from_the_json_file(db_server, target, reference_db, sample_sql, tmp_path, point):
    checkpoint = tmp_path / "ckpt" / "lightning.json"
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="replace",
                      checkpoint={"driver": "file", "dsn": str(checkpoint)})
    killed = run_cli(task, task_id="file", kill_at=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]

    saved = _file_rows(checkpoint, "file")  # a complete, parseable file, whatever the instant of the crash
    with db_server.connect() as conn:
        counts = target_counts(conn, target)
    for table, rows in saved.items():
        assert rows <= counts.get(table, 0), (table, saved, counts)  # at least once: never ahead of the data
    assert sum(saved.values()) < TOTAL_ROWS
    assert not (checkpoint.parent / f"{target}_ckpt").exists()  # nothing of the mysql driver

    summary = summary_of(run_cli(task, task_id="file"))
    assert summary["resumed"] is True
    assert summary["total_rows"] == TOTAL_ROWS - sum(saved.values())  # exactly what the file did not count
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
        with conn.cursor() as cur:  # the mysql checkpoint schema was never created
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (f"{target}_ckpt",))
            assert cur.fetchone()[0] == 0
    assert json.loads(checkpoint.read_text()) == {"version": 1, "tasks": {}}  # keep-after-success = "remove"


# -- the store itself ---------------------------------------------------------------------------------------


def _task(task_id: str = "t") -> TaskCheckpoint:
    task = TaskCheckpoint(task_id, "f" * 64)
    task.tables["`d`.`x`"] = TableCheckpoint("`d`.`x`")
    task.chunks["x.sql:0"] = ChunkCheckpoint("x.sql:0", "`d`.`x`", "x.sql", 1000, 0, None,
                                             ChunkProgress(ReadPosition(0)))
    return task


@pytest.fixture
def conn(db_server):
    """A writer-like connection (autocommit off): the file store commits its transaction, then records."""
    connection = db_server.connect()
    connection.autocommit(False)
    yield connection
    connection.close()


def _saved(path: Path) -> TaskCheckpoint:
    return FileStore(str(path)).load("t")


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The file store's monotonic clock, moved by hand (a host up for hours, whatever the real uptime)."""
    now = [10_000.0]
    monkeypatch.setattr(file_store_module.time, "monotonic", lambda: now[0])
    return now


def test_progress_is_saved_at_most_once_per_interval_and_status_at_once(tmp_path, clock, conn):
    path = tmp_path / "c.json"
    store = FileStore(str(path), flush_interval=3600)
    store.create(_task())  # the first save is written at once
    assert _saved(path).chunks["x.sql:0"].progress.position.offset == 0
    clock[0] += 60
    for offset in (100, 200, 300):
        store.commit_progress(conn, "t", "x.sql:0", ChunkProgress(ReadPosition(offset, ("a", "b"), True), offset // 10))
    assert _saved(path).chunks["x.sql:0"].progress.position.offset == 0  # held back: within the interval

    store.save_table("t", TableCheckpoint("`d`.`x`", TableStatus.DONE, "id:7"))  # status is urgent
    reread = _saved(path)
    assert reread.tables["`d`.`x`"] == TableCheckpoint("`d`.`x`", TableStatus.DONE, "id:7")
    # carried along, position and rows of the same batch
    assert reread.chunks["x.sql:0"].progress == ChunkProgress(ReadPosition(300, ("a", "b"), True), 30)

    store.commit_progress(conn, "t", "x.sql:0", ChunkProgress(ReadPosition(400), 40))
    assert _saved(path).chunks["x.sql:0"].progress.position.offset == 300
    store.close()  # closing flushes what was held back
    assert _saved(path).chunks["x.sql:0"].progress == ChunkProgress(ReadPosition(400), 40)


def test_progress_after_the_interval_is_written(tmp_path, clock, conn):
    path = tmp_path / "c.json"
    store = FileStore(str(path))
    store.create(_task())
    clock[0] += 0.5
    store.commit_progress(conn, "t", "x.sql:0", ChunkProgress(ReadPosition(10), 1))
    assert _saved(path).chunks["x.sql:0"].progress.position.offset == 0
    clock[0] += 0.6  # 1.1 s after the last write
    store.commit_progress(conn, "t", "x.sql:0", ChunkProgress(ReadPosition(20), 2))
    assert _saved(path).chunks["x.sql:0"].progress == ChunkProgress(ReadPosition(20), 2)
    # "was this batch committed?": the file store answers what it was told
    assert store.committed_progress(conn, "t", "x.sql:0") == ChunkProgress(ReadPosition(20), 2)


@pytest.mark.parametrize("fail_in", ["dump", "fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch, fail_in):
    path = tmp_path / "c.json"
    store = FileStore(str(path))
    store.create(_task())
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if fail_in == "dump":
        def partial_dump(obj, f):  # half a file reaches the temporary, then the disk is full
            f.write(json.dumps(obj)[:20])
            boom()
        monkeypatch.setattr(file_store_module.json, "dump", partial_dump)
    else:
        monkeypatch.setattr(file_store_module.os, fail_in, boom)
    with pytest.raises(CheckpointError, match=f"cannot save the checkpoint file {path}: No space left"):
        store.save_table("t", TableCheckpoint("`d`.`x`", TableStatus.DONE))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.json"]
    assert _saved(path).tables["`d`.`x`"].status == "pending"


def test_a_damaged_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"version": 1, "tasks": {"t": {"fingerprint": "x", "tab')
    with pytest.raises(CheckpointError, match=f"cannot read checkpoint file {path}"):
        FileStore(str(path))
    path.write_text('{"version": 99, "tasks": {}}')
    with pytest.raises(CheckpointError, match="unknown format version 99"):
        FileStore(str(path))


def test_open_store_picks_the_file_driver_and_rename_keeps_the_task(tmp_path):
    path = tmp_path / "sub" / "c.json"
    store = open_store(CheckpointSection(driver="file", dsn=str(path)), connect=lambda: pytest.fail("no server"))
    assert isinstance(store, FileStore)
    store.create(_task("one"))
    store.rename("one", "one.done")
    store.close()
    payload = json.loads(path.read_text())
    assert list(payload["tasks"]) == ["one.done"] and payload["tasks"]["one.done"]["task_id"] == "one.done"
    assert FileStore(str(path)).task_ids() == ["one.done"]

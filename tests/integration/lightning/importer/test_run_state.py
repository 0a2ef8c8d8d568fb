"""The run's state: the error budget is charged once per committed batch, a task's checkpoint is created
all or nothing, and the stores keep progress as values of one batch.

Connections are lost on purpose with ``TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT`` (the writer closes
the connection, so the server rolls its transaction back, and sends the batch again) and the
process is killed with ``TIDB_LIGHTNING_PY_KILL_AT``.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints import FileStore, MemoryStore
from airflow_provider_tidb_lightning.lightning.checkpoints.model import (
    ChunkCheckpoint,
    ChunkProgress,
    TableCheckpoint,
    TaskCheckpoint,
)
from airflow_provider_tidb_lightning.lightning.common import failpoint
from airflow_provider_tidb_lightning.lightning.errors import ImportFailed
from airflow_provider_tidb_lightning.lightning.importer.run import run_import
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition
from tests.support.checkpoint_checks import TOTAL_ROWS, assert_exact, checkpoint_state
from tests.support.cli_task import run_cli, summary_of, write_task
from tests.support.engine_helpers import task_config

# Two bad rows (a too long value, an impossible date) among four.
ROWS = ("INSERT INTO `t` VALUES (1,'ok',NULL),(2,'far too long',NULL),(3,'ok','2020-02-30'),"
        "(4,'ok','2021-03-04');\n")
BAD = 2


def _small_dump(directory: Path, rows: str = ROWS) -> Path:
    (directory / "src-schema-create.sql").write_text("CREATE DATABASE `src`;\n")
    (directory / "src.t-schema.sql").write_text("CREATE TABLE `t` (`id` INT PRIMARY KEY, `v` VARCHAR(8), `d` DATE);\n")
    (directory / "src.t.000000001.sql").write_text(rows)
    return directory


def _scalar(server, sql: str) -> int:
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


@pytest.fixture
def lose_connection(monkeypatch):
    """Lose the writer's connection at ``point``; the fail point counts from zero for this test."""
    monkeypatch.setattr(failpoint, "_counts", {})

    def at(point: str) -> None:
        monkeypatch.setenv("TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT", point)
    return at


@pytest.mark.parametrize("checkpoint", [{"driver": "mysql"}, {"driver": "file"}, {"enable": False}])
def test_a_batch_sent_again_after_a_lost_connection_is_charged_once(db_server, tmp_path, fresh_db, lose_connection,
                                                                     checkpoint):
    """The connection dies after the batch's bad rows were recorded, before COMMIT: the server rolls the
    records back, the batch is sent again, and the budget of exactly two type errors still holds."""
    (tmp_path / "dump").mkdir()
    dump = _small_dump(tmp_path / "dump")
    if checkpoint.get("driver") == "file":
        checkpoint = {**checkpoint, "dsn": str(tmp_path / "ckpt.json")}
    cfg = task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": BAD},
                      checkpoint=checkpoint)
    lose_connection("batch-sent:1")
    summary = run_import(cfg)
    assert failpoint._counts["batch-sent"] == 2  # lost once, then sent again
    table = summary.tables[0]
    assert (table.rows, table.skipped_rows, table.type_errors, table.conflicts) == (2, BAD, BAD, 0)
    assert _scalar(db_server, f"SELECT COUNT(*) FROM `{fresh_db}_info`.type_error_v1") == BAD
    assert _scalar(db_server, f"SELECT COUNT(*) FROM `{fresh_db}`.t") == 2


def test_the_budget_error_names_table_file_and_offset_after_a_retry(db_server, tmp_path, fresh_db, lose_connection):
    """One type error too many: the batch is refused before COMMIT, and the error points at the row."""
    dump = _small_dump(tmp_path)
    cfg = task_config(db_server, dump, fresh_db, source_db="src", lightning={"max-error": BAD - 1})
    lose_connection("batch-sent:1")
    with pytest.raises(ImportFailed) as info:
        run_import(cfg)
    message = str(info.value)
    assert f"table `{fresh_db}`.`t`" in message
    assert f"src.t.000000001.sql at byte offset {ROWS.index('(3,')}" in message
    assert "The number of type errors exceeds the threshold configured by `max-error.type`: '1'" in message
    assert (info.value.table, info.value.path, info.value.offset) == (
        f"`{fresh_db}`.`t`", "src.t.000000001.sql", ROWS.index("(3,"))
    assert _scalar(db_server, f"SELECT COUNT(*) FROM `{fresh_db}`.t") == 0  # the refused batch was rolled back
    assert _scalar(db_server, f"SELECT COUNT(*) FROM `{fresh_db}_info`.type_error_v1") == 0


def test_conflicts_past_the_threshold_name_the_batch(db_server, tmp_path, fresh_db):
    """REPLACE counts duplicates per statement: the error names the table, the file and the batch's offset."""
    rows = "INSERT INTO `t` VALUES (1,'new',NULL),(2,'new',NULL),(3,'new',NULL);\n"
    dump = _small_dump(tmp_path, rows)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{fresh_db}`.t (id INT PRIMARY KEY, v VARCHAR(8), d DATE)")
        cur.execute(f"INSERT INTO `{fresh_db}`.t VALUES (1,'old',NULL),(2,'old',NULL)")
    cfg = task_config(db_server, dump, fresh_db, source_db="src", tikv_importer={"on-duplicate": "replace"},
                      conflict={"strategy": "replace", "threshold": 1})
    with pytest.raises(ImportFailed) as info:
        run_import(cfg)
    message = str(info.value)
    assert f"table `{fresh_db}`.`t`: 2 duplicate key(s) in src.t.000000001.sql in the batch from byte offset " \
           f"{rows.index('(1,')}" in message
    assert "conflict.threshold" in message


def test_a_crash_while_creating_the_checkpoint_leaves_no_half_task(db_server, target, reference_db, sample_sql,
                                                                  tmp_path):
    """Killed inside the transaction that creates the mysql checkpoint: nothing of it stays, and the next
    run starts cleanly instead of reporting a changed source."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql)
    killed = run_cli(task, task_id="create", kill_at="checkpoint-creating:1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    with db_server.connect() as conn:
        state = checkpoint_state(conn, target, "create")
    assert state == {"exists": False, "rows": {}, "finished_chunks": 0, "chunks": 0, "statuses": {}}

    summary = summary_of(run_cli(task, task_id="create"))
    assert summary["resumed"] is False
    assert summary["total_rows"] == TOTAL_ROWS
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)


# -- the stores keep values, not live objects --------------------------------------------------------------


def _task() -> TaskCheckpoint:
    task = TaskCheckpoint("t", "f" * 64)
    task.tables["`d`.`x`"] = TableCheckpoint("`d`.`x`")
    for i in range(4):
        task.chunks[f"x.sql:{i}"] = ChunkCheckpoint(f"x.sql:{i}", "`d`.`x`", "x.sql", 1000, 0, None,
                                                    ChunkProgress(ReadPosition(0)))
    return task


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_progress_from_many_writers_is_saved_as_whole_batches(db_server, tmp_path, kind):
    """Four writer threads commit progress while another thread loads: every position seen, in memory or in
    the file, comes with the row count of the same batch, and what a caller loaded never changes."""
    path = tmp_path / "c.json"
    store = MemoryStore() if kind == "memory" else FileStore(str(path), flush_interval=0)
    store.create(_task())
    first = store.load("t")
    seen: list[ChunkProgress] = []
    stop = threading.Event()

    def writer(chunk_key: str) -> None:
        with db_server.connect() as conn:
            for n in range(1, 151):
                store.commit_progress(conn, "t", chunk_key, ChunkProgress(ReadPosition(n * 10), n))

    def reader() -> None:
        while not stop.is_set():
            seen.extend(c.progress for c in store.load("t").chunks.values())

    threads = [threading.Thread(target=writer, args=(f"x.sql:{i}",)) for i in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    store.close()

    assert seen and all(p.position.offset == p.rows * 10 for p in seen)
    assert all(c.progress == ChunkProgress(ReadPosition(0)) for c in first.chunks.values())  # a copy, untouched
    final = FileStore(str(path)).load("t") if kind == "file" else store.load("t")
    assert [c.progress for c in final.chunks.values()] == [ChunkProgress(ReadPosition(1500), 150)] * 4

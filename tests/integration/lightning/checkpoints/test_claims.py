"""Claims, leases and compare-and-set on the mysql checkpoint, driven directly against the real server.

Two "workers" here are two owners on their own connections, as two processes would be: a live
lease keeps a chunk, an expired one is taken over from the saved position, and the worker whose
lease was taken can neither commit a batch (its rows roll back) nor finish the chunk.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from airflow_provider_tidb_lightning.lightning.checkpoints import MySQLStore
from airflow_provider_tidb_lightning.lightning.checkpoints.model import (
    ChunkCheckpoint,
    ChunkProgress,
    StepState,
    TableCheckpoint,
    TableStatus,
    TaskCheckpoint,
)
from airflow_provider_tidb_lightning.lightning.checkpoints.store import LostChunk
from airflow_provider_tidb_lightning.lightning.common.connection import connect
from airflow_provider_tidb_lightning.lightning.config import load_task_config
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition
from tests.support.engine_helpers import task_config
from tests.support.paths import REPO

TABLE = "`d`.`t`"
LEASE = 1.0


@pytest.fixture
def setup(db_server, target, sample_sql):
    config = task_config(db_server, sample_sql, target)
    store = MySQLStore(lambda: connect(config.tidb), config.checkpoint.schema)
    task = TaskCheckpoint("claims", "fp", {TABLE: TableCheckpoint(TABLE, TableStatus.SCHEMA)})
    for i in range(3):
        key = f"t.{i}.sql:0"
        task.chunks[key] = ChunkCheckpoint(key, TABLE, f"t.{i}.sql", 1000, 0, None, ChunkProgress(ReadPosition(0)))
    store.create(task)
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{target}`.`rows` (`a` INT NOT NULL)")
    yield config, store, target
    store.close()


def _batch(config, db: str, value: int):
    """A writer connection with one row inserted and its transaction open, as a batch is before its commit."""
    conn = connect(config.tidb, autocommit=False)
    conn.begin()
    with conn.cursor() as cur:
        cur.execute(f"INSERT INTO `{db}`.`rows` VALUES (%s)", (value,))
    return conn


def _rows(db_server, db: str) -> list[int]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT `a` FROM `{db}`.`rows` ORDER BY `a`")
        return [r[0] for r in cur.fetchall()]


def test_claims_follow_the_plan_and_leave_live_leases_alone(setup):
    _, store, _ = setup
    first = store.claim_chunk("claims", "A", "A/1", 30)
    second = store.claim_chunk("claims", "B", "B/1", 30)
    third = store.claim_chunk("claims", "B", "B/2", 30, tables=[TABLE])
    assert [c.chunk_key for c in (first, second, third)] == ["t.0.sql:0", "t.1.sql:0", "t.2.sql:0"]
    assert store.claim_chunk("claims", "C", "C/1", 30) is None
    assert store.claim_chunk("claims", "C", "C/2", 30, tables=["`d`.`other`"]) is None
    outlook = store.outlook("claims")
    assert (outlook.unfinished, outlook.claimable) == (3, 0)
    store.release("claims", "B")  # an orderly exit: the others need not wait for B's leases to expire
    assert store.claim_chunk("claims", "C", "C/3", 30).chunk_key == "t.1.sql:0"


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_commit(setup, db_server):
    config, store, db = setup
    claim = store.claim_chunk("claims", "A", "A/1", LEASE)
    conn_a = _batch(config, db, 1)
    after_one = ChunkProgress(ReadPosition(100), 1)
    store.commit_progress(conn_a, "claims", claim.chunk_key, after_one, previous=claim.progress, token=claim.token)

    time.sleep(LEASE + 0.3)  # A stops renewing (a stalled or dead process)
    takeover = store.claim_chunk("claims", "B", "B/1", LEASE)
    assert takeover.chunk_key == claim.chunk_key and takeover.progress == after_one  # from A's saved position

    with conn_a.cursor() as cur:
        cur.execute(f"INSERT INTO `{db}`.`rows` VALUES (2)")
    with pytest.raises(LostChunk, match="lease expired and B took the chunk over"):
        store.commit_progress(conn_a, "claims", claim.chunk_key, ChunkProgress(ReadPosition(200), 2),
                              previous=after_one, token=claim.token)
    conn_b = _batch(config, db, 3)
    store.commit_progress(conn_b, "claims", claim.chunk_key, ChunkProgress(ReadPosition(200), 2),
                          previous=takeover.progress, token=takeover.token)
    assert _rows(db_server, db) == [1, 3]  # A's second batch rolled back with its refused progress

    store.renew("claims", "A", 30)  # A's renewals no longer reach the chunk
    with pytest.raises(LostChunk):
        store.finish_chunk("claims", claim.chunk_key, ChunkProgress(ReadPosition(200), 2), claim.token)
    store.finish_chunk("claims", claim.chunk_key, ChunkProgress(ReadPosition(200), 2), takeover.token)
    assert store.load("claims").chunks[claim.chunk_key].progress == ChunkProgress(ReadPosition(200), 2, True)
    conn_a.close()
    conn_b.close()


def test_a_renewed_lease_is_kept(setup):
    """The claim's own lease has run out by B's claim; only the renewals keep the chunk A's. They are for
    30 s, so that a pause of the test (a loaded machine) between the last one and B's claim cannot let it
    expire, which renewals for ``LEASE`` could."""
    _, store, _ = setup
    claim = store.claim_chunk("claims", "A", "A/1", LEASE)
    for _ in range(3):
        time.sleep(LEASE / 2)
        store.renew("claims", "A", 30)
    assert store.claim_chunk("claims", "B", "B/1", LEASE).chunk_key != claim.chunk_key


def test_a_stale_position_cannot_commit_without_claims(setup, db_server):
    """Unshared runs: two writers of one chunk from the same saved position; the second cannot commit."""
    config, store, db = setup
    start = store.load("claims").chunks["t.0.sql:0"].progress
    first, second = _batch(config, db, 1), _batch(config, db, 2)
    store.commit_progress(first, "claims", "t.0.sql:0", ChunkProgress(ReadPosition(100), 1), previous=start)
    with pytest.raises(LostChunk, match="another run of the same task committed to it first"):
        store.commit_progress(second, "claims", "t.0.sql:0", ChunkProgress(ReadPosition(100), 1), previous=start)
    assert _rows(db_server, db) == [1]
    first.close()
    second.close()


def test_steps_run_once_and_are_taken_over_after_their_lease(setup):
    _, store, _ = setup
    assert store.claim_step("claims", "schema", "A", 30) == StepState.MINE
    assert store.claim_step("claims", "schema", "B", 30) == StepState.BUSY
    store.finish_step("claims", "schema", "A")
    assert store.claim_step("claims", "schema", "B", 30) == StepState.DONE

    assert store.claim_step("claims", "finish", "A", LEASE) == StepState.MINE
    time.sleep(LEASE + 0.3)  # A died in the middle of the step
    assert store.claim_step("claims", "finish", "B", LEASE) == StepState.MINE
    store.remove("claims")  # a finished import whose checkpoint is gone: nothing left to run
    assert store.claim_step("claims", "finish", "C", LEASE) == StepState.DONE


def test_a_table_completes_once_and_never_over_a_failure(setup):
    _, store, _ = setup
    for i in range(2):
        store.finish_chunk("claims", f"t.{i}.sql:0", ChunkProgress(ReadPosition(1000), 10))
    assert store.complete_table("claims", TABLE) is False  # one chunk left
    store.save_table("claims", TableCheckpoint(TABLE, TableStatus.FAILED, error="boom"))
    store.finish_chunk("claims", "t.2.sql:0", ChunkProgress(ReadPosition(1000), 10))
    assert store.complete_table("claims", TABLE) is False  # another worker failed it: it stays failed
    store.save_table("claims", TableCheckpoint(TABLE, TableStatus.SCHEMA))
    assert [store.complete_table("claims", TABLE) for _ in range(2)] == [True, False]
    assert store.outlook("claims").unfinished == 0


def test_sharing_needs_the_mysql_driver(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint.shared"):
        load_task_config({"mydumper": {"data-source-dir": str(tmp_path)}, "checkpoint": dict(shared=True)})
    task = tmp_path / "task.toml"
    task.write_text(f'[mydumper]\ndata-source-dir = "{tmp_path}"\n[checkpoint]\nshared = true\ndriver = "file"\n')
    result = subprocess.run([sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli", "--config",
                             str(task)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert 'driver = "mysql"' in result.stderr and "checkpoint.shared" in result.stderr

"""What a crashed or finished import left behind: checkpoint rows, target rows, and the exact-once checks.

The invariant every resume test asserts: after a crash the target holds exactly the rows the
checkpoint counts (rows and position commit in one transaction), and after the rerun each table
equals the reference, row count and per-column checksums.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from airflow_provider_tidb_lightning.lightning.checkpoints.model import task_key
from tests.support.cli_task import TABLES, run_cli, summary_of
from tests.support.db_checks import TPCH_COUNTS, table_checksum

TOTAL_ROWS = sum(TPCH_COUNTS[t] for t in TABLES)  # 75,200


def checkpoint_state(conn, db: str, task_id: str) -> dict[str, Any]:
    """What the mysql checkpoint of ``task_id`` says: rows per table, finished chunks, table statuses."""
    key = task_key(task_id)
    with conn.cursor() as cur:
        cur.execute(f"SELECT `table_name`, SUM(`rows_written`), SUM(`finished`), COUNT(*) FROM `{db}_ckpt`.`chunk_v1`"
                    " WHERE `task_key` = %s GROUP BY `table_name`", (key,))
        chunks = {name.split("`.`")[1].rstrip("`"): (int(rows), int(done), int(n)) for name, rows, done, n in cur}
        cur.execute(f"SELECT `table_name`, `status` FROM `{db}_ckpt`.`table_v1` WHERE `task_key` = %s", (key,))
        statuses = {name.split("`.`")[1].rstrip("`"): status for name, status in cur}
        cur.execute(f"SELECT COUNT(*) FROM `{db}_ckpt`.`task_v1` WHERE `task_key` = %s", (key,))
        exists = cur.fetchone()[0] == 1
    return {
        "exists": exists,
        "rows": {t: c[0] for t, c in chunks.items()},
        "finished_chunks": sum(c[1] for c in chunks.values()),
        "chunks": sum(c[2] for c in chunks.values()),
        "statuses": statuses,
    }


def target_counts(conn, db: str) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA=%s AND TABLE_TYPE='BASE TABLE'", (db,))
        names = sorted(r[0] for r in cur.fetchall())
        counts = {}
        for name in names:
            cur.execute(f"SELECT COUNT(*) FROM `{db}`.`{name}`")
            counts[name] = int(cur.fetchone()[0])
    return counts


def wait_for_disconnect(conn, timeout: float = 10.0) -> None:
    """Wait until the server has finished with the dead process's sessions.

    A COMMIT the process sent just before it died still lands after its death; reading before it
    does would count the batch as lost although the rerun will (correctly) not send it again.
    """
    deadline = time.monotonic() + timeout
    with conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()"
                        " AND USER = SUBSTRING_INDEX(USER(), '@', 1)")
            if cur.fetchone()[0] == 0:
                return
            time.sleep(0.05)


def assert_consistent_after_crash(conn, db: str, task_id: str) -> dict[str, Any]:
    """After a crash the target holds exactly the rows the checkpoint counts, table by table.

    Both are read in one snapshot: the invariant holds at every instant, not only once the dust settles.
    """
    wait_for_disconnect(conn)
    with conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
    try:
        state = checkpoint_state(conn, db, task_id)
        counts = target_counts(conn, db)
    finally:
        conn.rollback()
    for table, count in counts.items():
        assert count == state["rows"].get(table, 0), (table, count, state)
    return state | {"counts": counts}


def assert_exact(conn, db: str, reference_db: str, tables: tuple[str, ...] = TABLES) -> None:
    """The target holds ``tables`` and nothing else, each equal to the reference (count and checksums)."""
    assert sorted(target_counts(conn, db)) == sorted(tables)
    for table in tables:
        ours = table_checksum(conn, db, table)
        assert ours["rows"] == TPCH_COUNTS[table], table
        assert ours == table_checksum(conn, reference_db, table), table


def assert_resumes_exactly_once(server: Any, task: Path, task_id: str, db: str,
                                reference_db: str) -> subprocess.CompletedProcess[str]:
    """After a run of ``task`` that was killed or stopped: the target holds exactly what the checkpoint
    counts (some rows, not all), and a rerun resumes, writes exactly the rest and leaves every table
    equal to the reference. Returns the rerun."""
    with server.connect() as conn:
        committed = sum(assert_consistent_after_crash(conn, db, task_id)["rows"].values())
    assert 0 < committed < TOTAL_ROWS
    rerun = run_cli(task, task_id=task_id)
    summary = summary_of(rerun)
    assert summary["resumed"] is True and summary["total_rows"] == TOTAL_ROWS - committed
    with server.connect() as conn:
        assert_exact(conn, db, reference_db)
    return rerun

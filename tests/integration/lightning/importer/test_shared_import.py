"""Several processes of one task against one mysql checkpoint: never a chunk written twice.

Unshared runs (issue 11): the progress update is a compare-and-set in the rows' transaction, so
a second run of the same task cannot commit what the first one did; on a table without a primary
key, where nothing else would notice, no row is doubled. Shared runs (``[checkpoint] shared =
true``, issue 12): the processes claim chunks with leases, one SIGKILLed mid-chunk is taken over
once its lease expires, and every table step runs once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pymysql

from tests.support.checkpoint_checks import TOTAL_ROWS, assert_exact, checkpoint_state
from tests.support.cli_task import TABLES, start_cli, write_task
from tests.support.db_checks import TPCH_COUNTS
from tests.support.hold import Hold

NOPK_ROWS = 120_000
NOPK_FILES = 4


def _nopk_dump(root: Path) -> Path:
    """A dump of one table without any key: a doubled row would go unnoticed by the server."""
    root.mkdir()
    (root / "tpch-schema-create.sql").write_text("CREATE DATABASE `tpch`;\n")
    (root / "tpch.nopk-schema.sql").write_text("CREATE TABLE `nopk` (`a` INT NOT NULL, `b` VARCHAR(40) NOT NULL);\n")
    per_file = NOPK_ROWS // NOPK_FILES
    for f in range(NOPK_FILES):
        with open(root / f"tpch.nopk.{f:09d}.sql", "w") as out:
            for start in range(f * per_file, (f + 1) * per_file, 1000):
                values = ",".join(f"({i},'row {i} of the table without a key')" for i in range(start, start + 1000))
                out.write(f"INSERT INTO `nopk` VALUES {values};\n")
    return root


def _finish(procs: list[subprocess.Popen[str]], timeout: float = 240) -> list[tuple[int, str, str]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out, err))
    return results


def _two_runs_at_once(task: Path, task_id: str, hold: Hold) -> list[subprocess.Popen[str]]:
    """Two runs of ``task`` that really overlap: the first is held after its first commit until the second
    has sent its first batch (or stopped); then both go on together. Started side by side, the second could
    start only after the first had finished and removed its checkpoint: a new import, not a second run."""
    first = start_cli(task, task_id=task_id, env=hold.env("batch-committed:1"))
    hold.wait_for_process(first)
    second = start_cli(task, task_id=task_id, env=hold.env("batch-sent:1"))
    hold.wait_for_process(second)
    hold.release()
    return [first, second]


def _conflict_records(db_server, db: str) -> int:
    """Rows in the task's ``conflict_records`` (0 when it was never created)."""
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
                    " AND TABLE_NAME = 'conflict_records'", (f"{db}_info",))
        if not cur.fetchone()[0]:
            return 0
        cur.execute(f"SELECT COUNT(*) FROM `{db}_info`.`conflict_records`")
        return int(cur.fetchone()[0])


def test_two_unshared_runs_of_one_task_never_double_rows(db_server, target, tmp_path):
    source = _nopk_dump(tmp_path / "dump")
    task = write_task(tmp_path / "task.toml", db_server, target, source, mode="replace", tables=("nopk",))
    with Hold(tmp_path / "hold") as hold:
        procs = _two_runs_at_once(task, "twice", hold)
    results = _finish(procs)
    codes = [code for code, _, _ in results]
    for code, _, err in results:
        if code != 0:  # the loser of a compare-and-set stops with one clear line, nothing of its batch committed
            assert code == 1, err[-2000:]
            assert re.search(r"chunk \S+ was not committed: another run of the same task committed to it first",
                             err), err[-2000:]
    if 0 not in codes:  # both stopped: a plain rerun finishes the import from what they committed
        rerun = start_cli(task, task_id="twice")
        code, _, err = _finish([rerun])[0]
        assert code == 0, err[-3000:]
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), COUNT(DISTINCT `a`), MIN(`a`), MAX(`a`) FROM `{target}`.`nopk`")
        assert cur.fetchone() == (NOPK_ROWS, NOPK_ROWS, 0, NOPK_ROWS - 1)


def test_two_unshared_runs_with_keys_and_on_duplicate_error(db_server, target, reference_db, sample_sql,
                                                            tmp_path):
    """With a key, the second run may meet the first one's rows before its compare-and-set: it still says
    another run is writing, never marks the table failed (which would block every later run) and records
    no conflict (the rows it met are not duplicates in the data)."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error")
    with Hold(tmp_path / "hold") as hold:
        procs = _two_runs_at_once(task, "twice-keys", hold)
    results = _finish(procs)
    for code, _, err in results:
        if code != 0:
            assert code == 1 and "another run of the same task" in err, err[-2000:]
    with db_server.connect() as conn:
        state = checkpoint_state(conn, target, "twice-keys")
    assert "failed" not in state["statuses"].values(), state
    if 0 not in [code for code, _, _ in results]:
        code, _, err = _finish([start_cli(task, task_id="twice-keys")])[0]
        assert code == 0, err[-3000:]
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
    assert _conflict_records(db_server, target) == 0  # the duplicates met the other run's rows, not the data's


def _shared_task(tmp_path, db_server, target, source, keep="origin", **extra):
    return write_task(tmp_path / "task.toml", db_server, target, source, mode="error",
                      checkpoint=dict(shared=True, **{"lease-seconds": 2, "keep-after-success": keep}),
                      lightning={"region-concurrency": 1, "table-concurrency": 2}, **extra)


def _wait_mid_chunk(db_server, db: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until ``proc`` has committed part of a chunk of many batches (orders or lineitem, 100+ each), or died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with db_server.connect() as conn, conn.cursor() as cur:
            try:
                cur.execute(f"SELECT COUNT(*) FROM `{db}_ckpt`.`chunk_v1` WHERE `lease_owner` <> ''"
                            " AND `finished` = 0 AND `rows_written` > 0")
            except pymysql.err.ProgrammingError:  # the checkpoint tables are not created yet
                pass
            else:
                if cur.fetchone()[0]:
                    return
        time.sleep(0.02)
    assert proc.poll() is not None or time.monotonic() < deadline, "the first worker never got mid-chunk"


def test_three_shared_processes_one_killed_mid_chunk(db_server, target, reference_db, sample_sql, tmp_path):
    task = _shared_task(tmp_path, db_server, target, sample_sql)
    doomed = start_cli(task, task_id="one-import", kill_at="batch-sent:30")
    _wait_mid_chunk(db_server, target, doomed)  # else the other two could take every chunk before it starts
    # Each survivor is held after its first commit until the other has one too: else the one that started
    # first could take every chunk left before the other is in.
    with Hold(tmp_path / "hold") as hold:
        survivors = [start_cli(task, task_id="one-import", env=hold.env("batch-committed:1")) for _ in range(2)]
        for survivor in survivors:
            hold.wait_for_process(survivor)
    results = _finish([doomed, *survivors])
    (killed_code, _, _), *survivors = results
    assert killed_code == -signal.SIGKILL, results[0][2][-3000:]
    summaries = []
    for code, out, err in survivors:
        assert code == 0, err[-3000:]
        assert "Duplicate entry" not in err
        summaries.append(json.loads(out))
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
        state = checkpoint_state(conn, target, "one-import")  # kept ("origin"): what every worker committed
    assert sum(state["rows"].values()) == TOTAL_ROWS and state["finished_chunks"] == state["chunks"]
    # Each survivor reports its own rows and the whole import's; what they wrote is less than the whole
    # (the killed worker committed some), and both wrote.
    for summary in summaries:
        assert summary["import_total_rows"] == TOTAL_ROWS
        assert {t["table"].split("`.`")[1].rstrip("`"): t["import_rows"] for t in summary["tables"]} == \
            {t: TPCH_COUNTS[t] for t in TABLES}
        assert summary["total_rows"] > 0 and summary["worker"]["chunks_claimed"] > 0
    assert sum(s["total_rows"] for s in summaries) < TOTAL_ROWS
    assert [s["worker"]["finished_import"] for s in summaries].count(True) == 1
    # Table steps ran once across the processes (the killed one included): one "done" line per table.
    logs = "".join(err for _, _, err in results)
    for table in TABLES:
        assert len(re.findall(rf"table `{target}`\.`{table}`: done", logs)) == 1, logs[-3000:]


def test_shared_processes_split_the_work_and_the_table_steps(db_server, target, reference_db, sample_sql,
                                                             tmp_path):
    task = _shared_task(tmp_path, db_server, target, sample_sql, keep="remove")
    # Each process is held after its first commit until all three are in: one that started a second late
    # would find the import finished and its checkpoint removed, and start it over.
    with Hold(tmp_path / "hold") as hold:
        procs = [start_cli(task, task_id="split", env=hold.env("batch-committed:1")) for _ in range(3)]
        for proc in procs:
            hold.wait_for_process(proc)
    results = _finish(procs)
    summaries = []
    for code, out, err in results:
        assert code == 0, err[-3000:]
        summaries.append(json.loads(out))
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
    # Nothing written twice and nothing lost: the workers' own rows add up to the import.
    assert sum(s["total_rows"] for s in summaries) == TOTAL_ROWS
    assert all(s["total_rows"] > 0 for s in summaries)  # each committed a batch before the hold
    # Every process reports the whole import, even one that ended after the finisher removed the checkpoint.
    assert [s["import_total_rows"] for s in summaries] == [TOTAL_ROWS] * 3
    with db_server.connect() as conn:
        assert checkpoint_state(conn, target, "split")["exists"] is False
    assert [s["worker"]["finished_import"] for s in summaries].count(True) == 1
    logs = "".join(err for _, _, err in results)
    for table in TABLES:  # each table finished exactly once
        assert len(re.findall(rf"table `{target}`\.`{table}`: done", logs)) == 1, logs[-3000:]


def _succeed_exactly(procs: list[subprocess.Popen[str]], db_server, db: str, reference_db: str) -> None:
    """Every process exits 0, and ``db`` holds the reference rows exactly."""
    for code, _, err in _finish(procs):
        assert code == 0, err[-3000:]
    with db_server.connect() as conn:
        assert_exact(conn, db, reference_db)


def _all_chunks_finished(db_server, db: str, timeout: float = 120, but: int = 0,
                         worker: subprocess.Popen[str] | None = None) -> None:
    """Wait until every chunk but ``but`` of them is finished; if they are not in time, the error says what
    ``worker`` (the process expected to finish them) and the server were doing."""
    deadline = time.monotonic() + timeout
    while True:
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*), SUM(`finished`) FROM `{db}_ckpt`.`chunk_v1`")
            chunks, finished = cur.fetchone()
            if chunks and finished >= chunks - but:
                return
            if time.monotonic() >= deadline:
                cur.execute("SELECT `ID`, `COMMAND`, `TIME`, `STATE`, LEFT(`INFO`, 200)"
                            " FROM information_schema.PROCESSLIST WHERE `COMMAND` <> 'Sleep'")
                sessions = cur.fetchall()
                cur.execute(f"SELECT `chunk_key`, `lease_owner`, `lease_expires`, NOW(6), `pos`"
                            f" FROM `{db}_ckpt`.`chunk_v1`")
                leases = cur.fetchall()
                state = ""
                if worker is not None:
                    code = worker.poll()
                    worker.kill()
                    state = f"; the worker's exit status {code}, its stderr ends:\n{worker.communicate()[1][-3000:]}"
                raise AssertionError(f"{finished} of {chunks} chunk(s) finished after {timeout} s; busy sessions "
                                     f"{sessions}; chunks {leases}{state}")
        time.sleep(0.05)
        time.sleep(0.05)


def test_a_worker_paused_past_its_lease_gives_the_chunk_up_and_exits_cleanly(db_server, target, reference_db,
                                                                            sample_sql, tmp_path):
    """A worker frozen (SIGSTOP: a paused VM, a host under load) past its lease in the middle of a chunk: the
    other takes the chunk over and writes it to its end; the frozen one, woken, meets that worker's rows (a
    duplicate key, with on-duplicate = error) and gives the chunk up, as when a commit finds its lease gone."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error", tables=("orders",),
                      checkpoint=dict(shared=True, **{"lease-seconds": 2, "keep-after-success": "origin"}),
                      lightning={"region-concurrency": 1}, tikv_importer={"logical-import-batch-rows": 100})
    with Hold(tmp_path / "hold") as hold:
        frozen = start_cli(task, task_id="frozen", env=hold.env("batch-committed:5"))
        assert hold.wait_for_process(frozen)
        other = start_cli(task, task_id="frozen")
        os.kill(frozen.pid, signal.SIGSTOP)  # its lease keeper stops too
        try:
            hold.release()
            _all_chunks_finished(db_server, target, worker=other)  # by the other, from where the frozen one committed
        finally:
            os.kill(frozen.pid, signal.SIGCONT)
    (frozen_code, frozen_out, frozen_err), (other_code, other_out, other_err) = _finish([frozen, other])
    assert frozen_code == 0, frozen_err[-3000:]
    assert other_code == 0, other_err[-3000:]
    assert "was taken over by another worker while this one missed its lease renewals" in frozen_err
    frozen_summary, other_summary = json.loads(frozen_out), json.loads(other_out)
    assert frozen_summary["worker"]["chunks_lost"] == 1
    assert 0 < frozen_summary["total_rows"] < TPCH_COUNTS["orders"]
    assert frozen_summary["total_rows"] + other_summary["total_rows"] == TPCH_COUNTS["orders"]
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db, ("orders",))
    assert _conflict_records(db_server, target) == 0  # the duplicate met the other worker's rows, not the data's


def test_a_worker_paused_inside_its_claim_holds_no_lock(db_server, target, reference_db, sample_sql, tmp_path):
    """A worker paused between taking a chunk and reading its claim back (a stopped VM, a starved host) holds no
    row lock on the checkpoint: another worker claims and writes every other chunk meanwhile (a claim in a
    transaction kept every row it scanned locked, and the others' claims waited on it)."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error",
                      checkpoint=dict(shared=True, **{"lease-seconds": 30, "keep-after-success": "origin"}),
                      lightning={"region-concurrency": 1})
    with Hold(tmp_path / "hold") as hold:
        paused = start_cli(task, task_id="claim", env=hold.env("chunk-claimed:1"))
        assert hold.wait_for_process(paused)
        other = start_cli(task, task_id="claim")
        try:
            _all_chunks_finished(db_server, target, timeout=40, but=1)  # all but the paused worker's chunk
        finally:
            hold.release()
    _succeed_exactly([paused, other], db_server, target, reference_db)
    with db_server.connect() as conn:
        state = checkpoint_state(conn, target, "claim")
    assert sum(state["rows"].values()) == TOTAL_ROWS and state["finished_chunks"] == state["chunks"]


def test_a_claim_retried_after_a_lost_connection_takes_one_chunk(db_server, target, reference_db, sample_sql,
                                                                 tmp_path):
    """The claim's UPDATE committed, then the connection was lost: the retry reads the claim back by its token
    rather than taking a second chunk, which this worker's own lease renewals would keep from everyone (itself
    included) for as long as it lives."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error",
                      checkpoint=dict(shared=True, **{"lease-seconds": 30, "keep-after-success": "origin"}),
                      lightning={"region-concurrency": 1})
    worker = start_cli(task, task_id="lost", env={"TIDB_LIGHTNING_PY_LOSE_CONNECTION_AT": "chunk-claimed:1"})
    [(code, out, err)] = _finish([worker], timeout=120)
    assert code == 0, err[-3000:]
    assert re.search(r"checkpoint store .*attempt 1 of \d+.*Lost connection", err), err[-3000:]
    summary = json.loads(out)
    with db_server.connect() as conn:
        assert_exact(conn, target, reference_db)
        state = checkpoint_state(conn, target, "lost")
    assert state["finished_chunks"] == state["chunks"] == summary["worker"]["chunks_claimed"]
    assert summary["total_rows"] == TOTAL_ROWS


def _worker_leases(db_server, db: str) -> dict[str, object]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT `step`, `lease_expires` FROM `{db}_ckpt`.`step_v1` WHERE `step` LIKE 'worker:%%'")
        return dict(cur.fetchall())


def test_a_worker_paused_inside_a_step_claim_stalls_no_other(db_server, target, reference_db, sample_sql, tmp_path):
    """A worker paused right after claiming the schema step holds no lock on the step's row: the other one is
    told the step is busy and waits, renewing its leases meanwhile (a claim in a transaction made it wait on the
    row lock instead, with its store, and so its lease renewals, stuck behind it)."""
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error",
                      checkpoint=dict(shared=True, **{"lease-seconds": 3, "keep-after-success": "origin"}),
                      lightning={"region-concurrency": 1})
    with Hold(tmp_path / "hold") as hold:
        paused = start_cli(task, task_id="steps", env=hold.env("step-claimed:2"))  # 1: "I am in", 2: the schema
        assert hold.wait_for_process(paused)
        other = start_cli(task, task_id="steps")
        try:
            deadline = time.monotonic() + 60
            while len(before := _worker_leases(db_server, target)) < 2:
                assert time.monotonic() < deadline and other.poll() is None, "the second worker never got in"
                time.sleep(0.05)
            time.sleep(2.5)  # the lease keeper renews every second
            after = _worker_leases(db_server, target)
            assert any(after[step] > before[step] for step in before), (before, after)
        finally:
            hold.release()
    _succeed_exactly([paused, other], db_server, target, reference_db)

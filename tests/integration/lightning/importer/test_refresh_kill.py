"""Refresh mode "swap" killed (SIGKILL, in a real subprocess of the command line) while loading and while swapping.

Whatever the instant, the live tables hold one complete dump or the other, never a mix, and a
rerun of the same task finishes the job: it resumes the load into the same shadow tables, or
performs the swap, or (killed after the RENAME) sees that the swap happened and only cleans up.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from airflow_provider_tidb_lightning.lightning.importer.refresh import shadow_name
from tests.support.checkpoint_checks import wait_for_disconnect
from tests.support.cli_task import run_cli, summary_of, write_task
from tests.support.paths import REPO
from tests.support.refresh_dumps import TABLES, day_one, day_two, table_names, table_rows, write_dump

DAY_TWO_ROWS = sum(len(rows) for rows in day_two().values())


@pytest.fixture
def refreshed(db_server, target, tmp_path):
    """The target holding day one (imported in swap mode), and the task file of day two."""
    one = write_task(tmp_path / "one.toml", db_server, target, write_dump(tmp_path / "day1", day_one()),
                     tables=TABLES, refresh={"mode": "swap"}, tikv_importer={"logical-import-batch-size": "4KiB"})
    summary_of(run_cli(one, task_id="day-1"))
    return write_task(tmp_path / "two.toml", db_server, target, write_dump(tmp_path / "day2", day_two()),
                      tables=TABLES, refresh={"mode": "swap"}, tikv_importer={"logical-import-batch-size": "4KiB"})


def _live(db_server, target) -> dict[str, list[tuple]]:
    with db_server.connect() as conn:
        wait_for_disconnect(conn)
        return {table: table_rows(conn, target, table) for table in TABLES}


@pytest.mark.parametrize("point, loaded, swapped", [
    ("schema-created:2", False, False),  # a shadow created, its table not yet saved in the checkpoint
    ("batch-committed:3", False, False),
    ("batch-committed:40", False, False),  # deep into the load
    ("table-finished:1", False, False),
    ("swap-starting:1", True, False),  # loaded and verified, RENAME not sent
    ("swap-done:1", True, True),  # renamed, the replaced tables not yet dropped
    ("task-finished:1", True, True),
])
def test_killed_refresh_leaves_one_dump_and_the_rerun_finishes(db_server, target, refreshed, point, loaded, swapped):
    killed = run_cli(refreshed, task_id="day-2", kill_at=point)
    assert killed.returncode == -signal.SIGKILL, f"exit {killed.returncode}\n{killed.stderr[-3000:]}"
    assert _live(db_server, target) == (day_two() if swapped else day_one())

    summary = summary_of(run_cli(refreshed, task_id="day-2"))
    assert summary["resumed"] is True
    # The rerun loads only what the killed run had not committed (nothing, once everything was loaded).
    assert (summary["total_rows"] == 0) == loaded and summary["total_rows"] <= DAY_TWO_ROWS
    assert _live(db_server, target) == day_two()
    with db_server.connect() as conn:
        assert table_names(conn, target) == sorted(TABLES)  # no shadow, no replaced table left


def test_rows_added_to_a_shadow_fail_the_verification(db_server, target, refreshed):
    killed = run_cli(refreshed, task_id="day-2", kill_at="swap-starting:1")
    assert killed.returncode == -signal.SIGKILL
    shadow = shadow_name("day-2", f"`{target}`.`items`", "items")
    with db_server.connect() as conn, conn.cursor() as cur:
        wait_for_disconnect(conn)
        cur.execute(f"INSERT INTO `{target}`.`{shadow}` VALUES (999999, 'intruder', NULL)")

    rerun = run_cli(refreshed, task_id="day-2")
    assert rerun.returncode != 0
    assert "verification before the swap failed" in rerun.stderr
    assert f"{len(day_two()['items']) + 1} rows, the import wrote {len(day_two()['items'])}" in rerun.stderr
    assert _live(db_server, target) == day_one()


def test_error_destroy_drops_the_shadow_and_keeps_the_live_table(db_server, target, tmp_path, refreshed):
    """A table failed by a data error in swap mode: --checkpoint-error-destroy must not touch the live table."""
    rows = day_two()
    rows["items"].insert(100, rows["items"][0])  # a duplicate key: on-duplicate = "error" fails the table
    task = write_task(tmp_path / "dup.toml", db_server, target, write_dump(tmp_path / "dup", rows),
                      tables=TABLES, refresh={"mode": "swap"})
    failed = run_cli(task, task_id="dup")
    assert failed.returncode == 1 and "Duplicate entry" in failed.stderr
    shadow = shadow_name("dup", f"`{target}`.`items`", "items")
    with db_server.connect() as conn:
        assert shadow in table_names(conn, target)

    ctl = subprocess.run([sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.ctl", "--config", str(task),
                          "--task-id", "dup", "--checkpoint-error-destroy=all"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ctl.returncode == 0, ctl.stderr
    assert _live(db_server, target) == day_one()
    with db_server.connect() as conn:
        assert shadow not in table_names(conn, target)

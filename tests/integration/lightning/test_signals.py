"""SIGTERM and SIGINT stop the command line at a consistent point, with one line, 143 / 130, resumable.

Airflow, Kubernetes and systemd stop a process with SIGTERM. The real program runs in a
subprocess importing the TPC-H subset in small batches; once rows are committed it gets the
signal. It must end with the documented status and one log line, the target must hold exactly the
rows its checkpoint counts, and a rerun (``on-duplicate = "error"``: a row sent twice fails it)
must finish the import with each row exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.support.checkpoint_checks import (
    assert_resumes_exactly_once,
    checkpoint_state,
)
from tests.support.cli_task import FAULT_ENV, write_task
from tests.support.hold import Hold
from tests.support.paths import REPO


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_at_a_consistent_point_and_the_rerun_resumes(db_server, target, reference_db, sample_sql,
                                                                  tmp_path, signum, status):
    task = write_task(tmp_path / "task.toml", db_server, target, sample_sql, mode="error",
                      lightning={"region-concurrency": 1}, tikv_importer={"logical-import-batch-rows": 100})
    log = tmp_path / "run.log"
    cmd = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli", "--config", str(task),
           "--task-id", "stopped", "--log-file", str(log)]
    with Hold(tmp_path / "hold") as hold:
        # Held after its third commit until the signal is sent: the signal lands mid-import on any machine.
        env = {**{k: v for k, v in os.environ.items() if k not in FAULT_ENV}, **hold.env("batch-committed:3")}
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert hold.wait_for_process(process), f"it ended before its third batch (exit {process.poll()})"
            with db_server.connect() as conn:
                assert sum(checkpoint_state(conn, target, "stopped")["rows"].values()) > 0
            process.send_signal(signum)
            hold.release()
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    text = log.read_text()
    assert process.returncode == status, text + stderr
    assert "Traceback" not in text + stderr and stdout == ""
    name = signal.Signals(signum).name
    errors = [line for line in text.splitlines() if "[ERROR]" in line]
    assert len(errors) == 1 and f"stopped by {name}" in errors[0] and "rerun to resume" in errors[0], text
    assert f"received {name}: stopping at the next consistent point" in text

    assert_resumes_exactly_once(db_server, task, "stopped", target, reference_db)

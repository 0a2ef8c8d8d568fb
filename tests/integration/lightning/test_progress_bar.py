"""On a terminal the command line shows a live progress bar instead of periodic progress lines."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli"]


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run with standard error on a pseudo-terminal; (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=slave, text=True, env=env)
    os.close(slave)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    return proc.returncode, out, shown.decode("utf-8", "replace")


def test_a_terminal_gets_a_live_bar(db_server, sample_dir: Path, fresh_db: str, tmp_path: Path) -> None:
    args = ["-d", str(sample_dir / "mydumper-sql"), "--tidb-host", db_server.host, "--tidb-port",
            str(db_server.port), "--tidb-user", db_server.user, "--tidb-password", db_server.password,
            "--enable-checkpoint", "false", "--on-duplicate", "error", "--config", str(_routes(tmp_path, fresh_db))]
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "160"}
    status, out, shown = _run_on_a_terminal(args, env)
    assert status == 0, shown
    assert "100%" in shown and "rows" in shown and "━" in shown, shown[-2000:]
    assert "import finished" in shown, "log lines still reach the terminal, above the bar"
    assert "progress: " not in shown, "no periodic progress lines on a terminal"
    assert '"total_rows": 86805' in out


def _routes(tmp_path: Path, database: str) -> Path:
    task = tmp_path / "task.toml"
    task.write_text(f'[[routes]]\nschema-pattern = "tpch"\ntarget-schema = "{database}"\n')
    return task

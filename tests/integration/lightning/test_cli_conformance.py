"""tidb-lightning's and tidb-lightning-ctl's command lines run unchanged against the provider's commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli"]
CTL = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.ctl"]


def _run(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=180)


def _task(tmp_path: Path, target: str, checkpoint_schema: str, info: str) -> Path:
    """A task file whose [tidb] points nowhere: the command lines below say where the server is."""
    path = tmp_path / "task.toml"
    path.write_text(f"""
[lightning]
task-info-schema-name = "{info}"
[mydumper]
data-source-dir = "/no/such/dir"
filter = ["tpch.region", "tpch.nation"]
[[routes]]
schema-pattern = "tpch"
target-schema = "{target}"
[checkpoint]
driver = "mysql"
schema = "{checkpoint_schema}"
keep-after-success = "origin"
[tidb]
host = "192.0.2.1"
port = 1
""")
    return path


def _server_flags(db_server) -> list[str]:
    return ["--tidb-host", db_server.host, "--tidb-port", str(db_server.port), "--tidb-user", db_server.user,
            "--tidb-password", db_server.password]


def _tables(db_server, db: str) -> list[str]:
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY 1", (db,))
        return [row[0] for row in cur.fetchall()]


def test_f_rules_replace_the_filter_and_ctl_takes_tidb_lightning_ctl_flags(db_server, sample_dir, make_database,
                                                                          tmp_path):
    target, checkpoints, info = make_database("cli"), make_database("ckpt"), make_database("info")
    task = _task(tmp_path, target, checkpoints, info)
    dump = str(sample_dir / "mydumper-sql")
    # -f is repeatable and replaces mydumper.filter, as in tidb-lightning: region (in the file's filter,
    # then excluded by the last -f rule) is not imported, supplier (not in the file's filter) is.
    result = _run(CLI, "--config", str(task), "-d", dump, *_server_flags(db_server), "--task-id", "t1",
                  "-f", "tpch.n*", "-f", "tpch.supplier", "-f", "tpch.region", "-f", "!tpch.region")
    assert result.returncode == 0, result.stderr
    assert {t["table"]: t["rows"] for t in json.loads(result.stdout)["tables"]} == {
        f"`{target}`.`nation`": 25, f"`{target}`.`supplier`": 100}
    assert _tables(db_server, target) == ["nation", "supplier"]

    # tidb-lightning-ctl's flags: global ones override the file, as they do for tidb-lightning-ctl.
    ctl_flags = ["--config", str(task), "-d", dump, "--backend", "tidb", "--enable-checkpoint", "true",
                 "--tidb-status", "10080", *_server_flags(db_server)]
    dumped = tmp_path / "ckpt-csv"
    result = _run(CTL, *ctl_flags, f"--checkpoint-dump={dumped}")
    assert result.returncode == 0, result.stderr
    assert "t1" in (dumped / "tasks.csv").read_text()
    result = _run(CTL, *ctl_flags, "--checkpoint-remove=all")
    assert result.returncode == 0, result.stderr
    result = _run(CTL, *ctl_flags, f"--checkpoint-dump={tmp_path / 'after'}")
    assert result.returncode == 0 and "t1" not in (tmp_path / "after" / "tasks.csv").read_text()


def test_ctl_operations_of_the_physical_backends_do_nothing_and_say_so(tmp_path):
    for args in (["--switch-mode=normal"], ["--compact"], ["--import-engine", "1f2e"], ["--fetch-mode"]):
        result = _run(CTL, *args)
        assert result.returncode == 0, result.stderr
        assert "the TiDB backend has none, so there is nothing to do" in result.stderr
        assert result.stdout == ""


def test_ctl_still_refuses_a_missing_operation():
    result = _run(CTL, "--tidb-host", "127.0.0.1")
    assert result.returncode == 2 and "one of the arguments" in result.stderr

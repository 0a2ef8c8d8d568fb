"""The tidb-lightning-py command: flags that mirror tidb-lightning's, exit status, no secrets in output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tomli

CLI = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def _toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "task.toml"
    path.write_text(body)
    return path


def test_flags_override_the_file_and_success_exits_zero(db_server, sample_dir, fresh_db, tmp_path):
    task = _toml(tmp_path, f"""
[tikv-importer]
backend = "tidb"
[mydumper]
data-source-dir = "/no/such/dir"
filter = ["tpch.region", "tpch.nation"]
[[routes]]
schema-pattern = "tpch"
target-schema = "{fresh_db}"
[checkpoint]
driver = "file"
dsn = "{tmp_path / 'cp.json'}"
[tidb]
host = "192.0.2.1"
port = 1
""")
    result = _run("--config", str(task), "-d", str(sample_dir / "mydumper-sql"), "--tidb-host", db_server.host,
                  "--tidb-port", str(db_server.port), "--tidb-user", db_server.user,
                  "--tidb-password", db_server.password, "-L", "info")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["total_rows"] == 30
    assert {t["table"]: t["rows"] for t in summary["tables"]} == {
        f"`{fresh_db}`.`nation`": 25, f"`{fresh_db}`.`region`": 5}
    assert "progress" in result.stderr or "import finished" in result.stderr


def test_failure_exits_non_zero_without_the_password(db_server, tmp_path):
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "a.t-schema.sql").write_text("CREATE TABLE t (id INT);")
    task = _toml(tmp_path, f"""
[mydumper]
data-source-dir = "{tmp_path / 'dump'}"
[checkpoint]
enable = false
[tidb]
host = "{db_server.host}"
port = {db_server.port}
user = "nobody_here"
password = "Sup3rSecret!"
""")
    result = _run("--config", str(task))
    assert result.returncode == 1
    assert "Access denied" in result.stderr
    assert "Sup3rSecret!" not in result.stderr + result.stdout


def test_bad_configuration_exits_two_and_names_the_key(tmp_path):
    task = _toml(tmp_path, '[tikv-importer]\nbackend = "local"\n[mydumper]\ndata-source-dir = "."\n')
    result = _run("--config", str(task))
    assert result.returncode == 2
    assert "tikv-importer.backend" in result.stderr and "tidb" in result.stderr
    result = _run("--config", str(task), "--backend", "importer")
    assert result.returncode == 2 and "importer" in result.stderr


def test_from_loader_config_prints_a_task_file(tmp_path):
    loader = tmp_path / "loader.toml"
    loader.write_text('log-level = "debug"\npool-size = 8\ndir = "/data/export"\ncheckpoint-schema = "tidb_loader"\n'
                      '[db]\nhost = "10.0.0.1"\nport = 4000\nuser = "root"\npassword = ""\n'
                      '[[route-rules]]\npattern-schema = "shard_db_*"\ntarget-schema = "shard_db"\n')
    result = _run("--from-loader-config", str(loader))
    assert result.returncode == 0, result.stderr
    task = tomli.loads(result.stdout)
    assert task["tikv-importer"]["backend"] == "tidb"
    assert task["mydumper"]["data-source-dir"] == "/data/export"
    assert task["lightning"]["level"] == "debug" and task["lightning"]["region-concurrency"] == 8
    assert task["checkpoint"]["schema"] == "tidb_loader"
    assert task["routes"] == [{"schema-pattern": "shard_db_*", "target-schema": "shard_db"}]
    assert task["tidb"]["host"] == "10.0.0.1"

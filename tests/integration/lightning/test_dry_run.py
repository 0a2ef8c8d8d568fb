"""``tidb-lightning-py --dry-run``: the plan and the pre-checks' findings, and a target left exactly as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.db_checks import TPCH_COUNTS

CLI = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli"]


def _snapshot(db_server) -> dict[str, object]:
    """Every schema and table on the server, with row counts of the tables of the databases we care about."""
    with db_server.connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        schemas = sorted(name for (name,) in cur.fetchall())
        cur.execute("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
        tables = sorted(cur.fetchall())
    return {"schemas": schemas, "tables": tables}


def test_dry_run_prints_the_plan_and_leaves_the_target_untouched(db_server, sample_dir: Path, fresh_db: str,
                                                                 tmp_path: Path) -> None:
    task = tmp_path / "task.toml"
    task.write_text(f"""
[mydumper]
data-source-dir = "{sample_dir / 'mydumper-sql'}"
[[routes]]
schema-pattern = "tpch"
target-schema = "{fresh_db}"
[checkpoint]
driver = "mysql"
schema = "{fresh_db}_ckpt"
[lightning]
task-info-schema-name = "{fresh_db}_info"
""")
    before = _snapshot(db_server)
    result = subprocess.run([*CLI, "--config", str(task), "--dry-run", "--tidb-host", db_server.host,
                             "--tidb-port", str(db_server.port), "--tidb-user", db_server.user,
                             "--tidb-password", db_server.password],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _snapshot(db_server) == before, "a dry run wrote to the target"
    out = result.stdout
    assert "nothing was written" in out and "pre-checks: passed" in out
    for table in TPCH_COUNTS:
        assert f"`{fresh_db}`.`{table}`" in out
    lineitem = next(line for line in out.splitlines() if line.startswith(f"`{fresh_db}`.`lineitem`"))
    files = sorted((sample_dir / "mydumper-sql").glob("tpch.lineitem.*.sql"))
    assert lineitem.split()[1:3] == [str(len(files)), str(len(files))], lineitem  # one chunk per file here
    assert f"{sum(f.stat().st_size for f in files) / 1e6:.1f}" == lineitem.split()[3]
    assert "8 table(s), 0 view(s)" in out
    assert "estimated time: at least" in out
    if db_server.password:
        assert db_server.password not in out + result.stderr


def test_dry_run_reports_problems_with_exit_one(db_server, sample_dir: Path, fresh_db: str) -> None:
    before = _snapshot(db_server)
    result = subprocess.run([*CLI, "-d", str(sample_dir / "mydumper-sql"), "--dry-run", "--tidb-host",
                             db_server.host, "--tidb-port", str(db_server.port), "--tidb-user", "nobody_at_all",
                             "--tidb-password", "pw-8d1f0c"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "problem: cannot connect to the target" in result.stdout
    assert "target: not reached" in result.stdout
    assert "pw-8d1f0c" not in result.stdout + result.stderr
    assert _snapshot(db_server) == before

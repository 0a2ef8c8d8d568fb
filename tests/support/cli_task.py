"""Task files for the command line, and runs of it in a subprocess (as an Airflow worker would start it).

``write_task`` writes a TOML task importing a subset of the TPC-H sample with a mysql checkpoint
and small batches; ``run_cli`` runs ``python -m ...lightning.cli`` on it, optionally with a fail point
(``TIDB_LIGHTNING_PY_KILL_AT`` / ``TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES``) set in its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

# The subset the resume tests import: 1 database, 3 tables, 5 chunks (lineitem has 3 files).
TABLES = ("lineitem", "nation", "orders")
FAULT_ENV = ("TIDB_LIGHTNING_PY_KILL_AT", "TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES", "TIDB_LIGHTNING_PY_HOLD_AT")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_task(path: Path, server, db: str, source: Path | str, *, mode: str = "error",
               tables: tuple[str, ...] = TABLES, **sections: dict[str, Any]) -> Path:
    """A task file importing ``tables`` of the dump in ``source`` into ``db``, in small batches."""
    raw: dict[str, dict[str, Any]] = {
        "lightning": {"region-concurrency": 2, "task-info-schema-name": f"{db}_info", "level": "info"},
        "checkpoint": {"driver": "mysql", "schema": f"{db}_ckpt"},
        "tikv-importer": {"logical-import-batch-size": "16KiB"},
        "conflict": {"strategy": mode},  # not the deprecated on-duplicate, whose warning is a line on stderr
        "mydumper": {"data-source-dir": str(source),
                     "filter": [f"tpch.{t}" for t in tables]},
        "tidb": {"host": server.host, "port": server.port, "user": server.user, "password": server.password},
    }
    for name, values in sections.items():
        raw.setdefault(name.replace("_", "-"), {}).update(values)
    lines = []
    for name, values in raw.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    lines += ["[[routes]]", 'schema-pattern = "tpch"', f"target-schema = {_toml_value(db)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(task: Path, *, task_id: str | None = None, kill_at: str | None = None,
            fail_after: int | None = None, host: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in FAULT_ENV}
    if kill_at:
        env["TIDB_LIGHTNING_PY_KILL_AT"] = kill_at
    if fail_after:
        env["TIDB_LIGHTNING_PY_FAIL_AFTER_BATCHES"] = str(fail_after)
    cmd = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli", "--config", str(task)]
    if task_id:
        cmd += ["--task-id", task_id]
    if host:
        cmd += ["--tidb-host", host]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)


def start_cli(task: Path, *, task_id: str, kill_at: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the command line on ``task`` without waiting (for several processes sharing one import);
    ``env`` adds variables (a hold, :mod:`tests.support.hold`)."""
    env = {**{k: v for k, v in os.environ.items() if k not in FAULT_ENV}, **(env or {})}
    if kill_at:
        env["TIDB_LIGHTNING_PY_KILL_AT"] = kill_at
    cmd = [sys.executable, "-m", "airflow_provider_tidb_lightning.lightning.cli", "--config", str(task),
           "--task-id", task_id]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def summary_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)

"""Building task configurations for engine tests against the test server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_tidb_lightning.lightning.config import load_task_config
from airflow_provider_tidb_lightning.lightning.config.model import TaskConfig


def task_config(server: Any, source: Path | str, target_db: str, *, source_db: str = "tpch",
                **sections: dict[str, Any]) -> TaskConfig:
    """A task that imports ``source`` (schema ``source_db``) into ``target_db`` on the test server."""
    raw: dict[str, Any] = {
        "mydumper": {"data-source-dir": str(source)},
        "routes": [{"schema-pattern": source_db, "target-schema": target_db}],
        "tidb": {"host": server.host, "port": server.port, "user": server.user, "password": server.password},
        "checkpoint": {"driver": "mysql", "schema": f"{target_db}_ckpt"},
        "lightning": {"task-info-schema-name": f"{target_db}_info"},
    }
    for section, values in sections.items():
        key = section.replace("_", "-")
        if isinstance(values, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **values}
        else:
            raw[key] = values
    return load_task_config(raw)

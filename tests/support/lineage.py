"""OpenLineage events the test session's file transport wrote (tests/conftest.py configures it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def completed_task_events(path: Path, run_id: str, task_id: str) -> list[dict[str, Any]]:
    """The COMPLETE events of one task of one DAG run, oldest first."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        if event.get("eventType") != "COMPLETE" or not event["job"]["name"].endswith(f".{task_id}"):
            continue
        parent = event["run"].get("facets", {}).get("parent", {})
        if run_id in json.dumps(parent) or run_id in json.dumps(event["run"].get("facets", {}).get("airflow", {})):
            events.append(event)
    return events

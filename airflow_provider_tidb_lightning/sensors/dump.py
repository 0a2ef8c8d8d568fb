"""Wait until a mydumper or Dumpling dump directory is complete.

Importing a dump that is still being written silently loads a prefix of it. Both dumpers write
a ``metadata`` file whose ``Finished dump at`` line appears only once every data file is closed
(mydumper even writes ``metadata.partial`` first and renames it at the end), so that line is the
completion signal; nothing else in the directory is reliable while the dumper runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    from airflow.providers.common.compat.sdk import BaseSensorOperator, Context
except ImportError:  # an older common-compat without these names: Airflow 3's own SDK has them
    from airflow.sdk import BaseSensorOperator, Context

FINISHED_MARKER = "Finished dump at"


def dump_finished(path: str | Path) -> bool:
    """Whether the dump directory ``path`` has a ``metadata`` file saying the dump finished.

    A missing directory or metadata file means "not yet"; any other read error (permissions,
    ``path`` being a file) is raised, because waiting will not fix it.
    """
    try:
        text = (Path(path) / "metadata").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    return FINISHED_MARKER in text


class DumpCompleteSensor(BaseSensorOperator):
    """Succeed once the dump in ``path`` (templated, e.g. ``/dumps/{{ ds }}``) is complete.

    Use ``mode="reschedule"`` for long waits so the sensor does not hold a worker slot.
    """

    template_fields: Sequence[str] = ("path",)

    def __init__(self, *, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path

    def poke(self, context: Context) -> bool:
        if dump_finished(self.path):
            self.log.info("Dump in %s is complete", self.path)
            return True
        self.log.info("Waiting for %s/metadata to say %r", self.path, FINISHED_MARKER)
        return False

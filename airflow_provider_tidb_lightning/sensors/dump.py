"""Wait until a mydumper or Dumpling dump directory is complete.

Importing a dump that is still being written silently loads a prefix of it. Both dumpers write
a ``metadata`` file whose ``Finished dump at`` line appears only once every data file is closed
(mydumper even writes ``metadata.partial`` first and renames it at the end), so that line is the
completion signal; nothing else in the directory is reliable while the dumper runs.

A dump in object storage (``s3://bucket/prefix``, ``gcs://``, ``azure://``) is checked the same
way, reading its ``metadata`` object with the credentials of ``source_conn_id`` (an Airflow
connection, through Airflow's object storage) or of the URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

try:
    from airflow.providers.common.compat.sdk import BaseSensorOperator, Context
except ImportError:  # an older common-compat without these names: Airflow 3's own SDK has them
    from airflow.sdk import BaseSensorOperator, Context

from ..hooks.object_storage import source_filesystem
from ..lightning.config.storage_url import is_remote, mask_url
from ..lightning.mydump.storage import open_storage

FINISHED_MARKER = "Finished dump at"


def dump_finished(path: str | Path, filesystem: Any | None = None) -> bool:
    """Whether the dump directory (or bucket prefix) ``path`` has a ``metadata`` file saying the dump finished.

    A missing directory or metadata file means "not yet"; any other read error (permissions,
    ``path`` being a file, refused credentials) is raised, because waiting will not fix it.
    ``filesystem`` holds the credentials of a remote ``path`` (see :func:`.source_filesystem`).
    """
    if is_remote(str(path)):
        storage = open_storage(str(path), filesystem=filesystem)
        assert storage is not None
        key = f"{storage.root}/metadata"
        if not storage.call(f"read {key}", lambda: storage.fs.exists(key)):
            return False
        with storage.open(key) as stream:
            return FINISHED_MARKER in stream.read().decode("utf-8", errors="replace")
    try:
        text = (Path(path) / "metadata").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False
    return FINISHED_MARKER in text


class DumpCompleteSensor(BaseSensorOperator):
    """Succeed once the dump in ``path`` (templated, e.g. ``/dumps/{{ ds }}`` or ``s3://dumps/{{ ds }}``) is complete.

    ``source_conn_id`` is the Airflow connection with the credentials of an object storage
    ``path`` (e.g. ``aws_default``). Use ``mode="reschedule"`` for long waits so the sensor does
    not hold a worker slot.
    """

    template_fields: Sequence[str] = ("path",)

    def __init__(self, *, path: str, source_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.source_conn_id = source_conn_id

    def poke(self, context: Context) -> bool:
        shown = mask_url(str(self.path))
        if dump_finished(self.path, source_filesystem(str(self.path), self.source_conn_id)):
            self.log.info("Dump in %s is complete", shown)
            return True
        self.log.info("Waiting for %s/metadata to say %r", shown, FINISHED_MARKER)
        return False

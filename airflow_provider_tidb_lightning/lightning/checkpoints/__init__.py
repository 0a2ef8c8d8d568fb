"""Checkpoints: how far an import got, so a rerun resumes instead of starting over."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pymysql

from ..config.model import CheckpointSection
from .file_store import FileStore
from .mysql_store import MySQLStore
from .store import CheckpointStore, MemoryStore

log = logging.getLogger(__name__)

__all__ = ["CheckpointStore", "FileStore", "MemoryStore", "MySQLStore", "open_store"]


def open_store(checkpoint: CheckpointSection, connect: Callable[[], pymysql.Connection]) -> CheckpointStore:
    """The store ``[checkpoint]`` asks for; ``connect`` opens a connection to the target."""
    if not checkpoint.enable:
        return MemoryStore()
    if checkpoint.driver == "mysql":
        if checkpoint.dsn:
            log.warning("checkpoint.dsn is ignored with driver = \"mysql\": checkpoints are kept on the target so "
                        "that rows and progress commit in one transaction")
        return MySQLStore(connect, checkpoint.schema)
    return FileStore(checkpoint.dsn)

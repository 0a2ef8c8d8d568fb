"""The source stage: find the dump's files, route them to targets, open and chunk them.

``discover`` walks data-source-dir into a :class:`DumpLayout`; ``split_chunks`` cuts a data
file into :class:`Chunk` byte ranges; ``open_source`` streams a (possibly compressed) file.
Nothing here talks to a server or imports Airflow.
"""

from __future__ import annotations

from .compression import open_source
from .discovery import discover
from .layout import Chunk, DatabaseSource, DataFile, DumpLayout, SchemaFile, TableSource
from .region import split_chunks

__all__ = [
    "Chunk",
    "DataFile",
    "DatabaseSource",
    "DumpLayout",
    "SchemaFile",
    "TableSource",
    "discover",
    "open_source",
    "split_chunks",
]

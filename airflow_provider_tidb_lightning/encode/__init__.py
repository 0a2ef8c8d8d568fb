"""The encode stage: turn source rows into SQL text for the TiDB backend.

:mod:`.literals` writes field values as SQL literals and rows as ``(v1,v2,...)`` tuples.
Nothing here talks to a server or imports Airflow.
"""

from __future__ import annotations

from .literals import RowEncoder, column_kind

__all__ = ["RowEncoder", "column_kind"]

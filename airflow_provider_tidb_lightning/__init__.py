"""Apache Airflow provider for TiDB Lightning's TiDB backend (logical import)."""

from __future__ import annotations

__version__ = "0.1.0"

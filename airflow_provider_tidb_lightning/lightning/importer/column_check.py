"""Columns of the target table that a data file does not give: the server fills them with their default.

tidb-lightning logs "column missing from data file, going to fill with default value" for each such
column, and users search their logs for it; the same words are logged here, once per table and
column list (a header seen again in the next chunk or file is not logged again).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from ..common.quoting import quote_identifier

log = logging.getLogger(__name__)


class MissingColumns:
    """Remembers which (table, file columns) were reported; shared by the writer threads of one run."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        self._lock = threading.Lock()

    def report(self, table: str, table_columns: Sequence[str], file_columns: Sequence[str], path: str) -> list[str]:
        """Log each table column ``file_columns`` lacks (compared ignoring case); returns them."""
        given = {name.lower() for name in file_columns}
        missing = [name for name in table_columns if name.lower() not in given]
        key = (table, tuple(name.lower() for name in file_columns))
        with self._lock:
            if not missing or key in self._seen:
                return missing
            self._seen.add(key)
        for name in missing:
            log.warning("column missing from data file, going to fill with default value: table %s, column %s "
                        "(data file %s)", table, quote_identifier(name), path)
        return missing

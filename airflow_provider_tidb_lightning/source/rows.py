"""What the data-file readers hand to the writer: batches of SQL row tuples and resume positions.

Both readers (:mod:`.sql_reader`, :mod:`.csv_reader`) produce the same :class:`RowBatch`, so the
writer never knows which format a chunk came from. Rows are complete SQL tuples ``b"(...)"`` ready
to follow ``VALUES``; the writer only joins them with ``,``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ReadPosition:
    """Where a reader can resume; stored in checkpoints.

    For SQL files a position inside a multi-row ``INSERT`` needs the statement's column list and
    the knowledge that the next token is a row tuple, because the statement header is behind us.
    """

    offset: int
    """Byte offset in the (decompressed) stream."""
    columns: tuple[str, ...] | None = None
    """SQL: column list of the statement being read, if ``in_values``."""
    in_values: bool = False
    """SQL: the offset is inside a ``VALUES`` list, just after a ``,`` separator."""


@dataclass(slots=True)
class RowBatch:
    """Rows that share one column list, plus what a checkpoint and an error record need."""

    columns: tuple[str, ...] | None
    """Column names (unquoted) for the INSERT column list; ``None`` means table order."""
    rows: list[bytes]
    """Each row a complete SQL tuple ``b"(...)"`` usable after ``VALUES`` verbatim."""
    offsets: list[int]
    """Start offset of each row in the stream, for error records."""
    end: ReadPosition
    """Position just after this batch: resuming here re-reads nothing of it."""
    nbytes: int
    """Sum of ``len(rows)``."""

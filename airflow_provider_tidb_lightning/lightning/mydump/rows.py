"""What the data-file readers hand to the writer: batches of SQL row tuples and resume positions.

Both readers (:mod:`.sql_parser`, :mod:`.csv_parser`) produce the same :class:`RowBatch`, so the
writer never knows which format a chunk came from. Rows are complete SQL tuples ``b"(...)"`` ready
to follow ``VALUES``; the writer only joins them with ``,``. The CSV reader does not write SQL: it
hands field values to a :class:`TupleEncoder` its caller passes in (the TiDB backend's encoder), so
``mydump`` never imports ``backend``. With an encoder whose rows are LOAD DATA lines, the CSV reader
hands :class:`LineBatch` es instead, whose rows stay joined as the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple, Protocol


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


Piece = tuple[bytes, int, int]
"""A stretch of a SQL dump a batch holds as it is: its bytes, their stream offset, and how many rows they are.
A piece of several rows is ``(..),\n(..)`` as the dump wrote it (the reader's fast path); a piece of one
row is never split (a row from the careful path may hold ``,\n`` inside a string)."""


class RowBatch:
    """Rows that share one column list, plus what a checkpoint and an error record need.

    A batch holds its rows either as a list, or — from the SQL reader — as *pieces*: contiguous
    stretches of the dump, ``(..),\n(..),\n(..)``, each already a valid VALUES list. Pieces are sent as
    they are (one piece uncopied, several joined once), with no per-row objects; they are split into
    rows only if the server rejects the batch and the writer retries row by row.
    """

    __slots__ = ("columns", "end", "nbytes", "_proved", "_rows", "_offsets", "_pieces", "_count")

    def __init__(self, columns: tuple[str, ...] | None, rows: list[bytes], offsets: list[int], end: ReadPosition,
                 nbytes: int) -> None:
        self.columns = columns
        """Column names (unquoted) for the INSERT column list; ``None`` means table order."""
        self.end = end
        """Position just after this batch: resuming here re-reads nothing of it."""
        self.nbytes = nbytes
        """Sum of the rows' lengths (separators not counted)."""
        self._proved = False
        self._rows: list[bytes] | None = rows
        self._offsets: list[int] | None = offsets
        self._pieces: list[Piece] | None = None
        self._count = len(rows)

    @classmethod
    def from_pieces(cls, columns: tuple[str, ...] | None, pieces: list[Piece], end: ReadPosition, *,
                    proved: bool) -> RowBatch:
        """A batch of the rows in ``pieces`` (at least one); ``proved`` when every piece came from the SQL
        reader's fast path."""
        count = sum(piece[2] for piece in pieces)
        step = len(SEGMENT_SEPARATOR)
        batch = cls(columns, [], [], end, sum(len(piece[0]) for piece in pieces) - step * (count - len(pieces)))
        batch._rows = batch._offsets = None
        batch._pieces = pieces
        batch._count = count
        batch._proved = proved
        return batch

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"RowBatch({len(self)} rows, {self.nbytes} bytes, columns={self.columns!r}, end={self.end!r})"

    @property
    def proved(self) -> bytes | None:
        """SQL: the rows joined by ``,\n`` when every one came from the reader's fast path (literals only,
        one tuple per line, strings in one quote kind with no backslash), else ``None``."""
        if not self._proved or self._pieces is None:
            return None
        if len(self._pieces) == 1:
            return self._pieces[0][0]
        return SEGMENT_SEPARATOR.join([piece[0] for piece in self._pieces])

    @property
    def rows(self) -> list[bytes]:
        """Each row a complete SQL tuple ``b"(...)"`` usable after ``VALUES`` verbatim."""
        if self._rows is None:
            self._unpack()
        return self._rows  # type: ignore[return-value]

    @property
    def offsets(self) -> list[int]:
        """Start offset of each row in the stream, for error records."""
        if self._offsets is None:
            self._unpack()
        return self._offsets  # type: ignore[return-value]

    def _unpack(self) -> None:
        rows: list[bytes] = []
        offsets: list[int] = []
        step = len(SEGMENT_SEPARATOR)
        for data, offset, count in self._pieces or ():
            if count == 1:
                rows.append(data)
                offsets.append(offset)
            else:
                split = data.split(SEGMENT_SEPARATOR)
                offsets += accumulate((len(row) + step for row in split[:-1]), initial=offset)
                rows += split
        self._rows, self._offsets = rows, offsets

    @property
    def first_offset(self) -> int:
        return self._pieces[0][1] if self._pieces is not None else self.offsets[0]

    def values(self) -> bytes:
        """The rows as one VALUES list: ``(..),(..)`` — or the dump's own piece, uncopied."""
        if self._pieces is not None:
            return self._pieces[0][0] if len(self._pieces) == 1 else b",".join([piece[0] for piece in self._pieces])
        return b",".join(self._rows or ())


# mydumper and Dumpling put every row on its own line: "(..),\n(..),\n(..);".
SEGMENT_SEPARATOR = b",\n"


class Lines(NamedTuple):
    """Rows of a :class:`LineBatch` kept as the lines of one text."""

    text: bytes
    """The rows, each followed by ``\\n``."""
    number: int
    """How many rows."""
    start: int
    """Stream offset of the first row."""
    source: bytes = b""
    """The rows' source, one ``\\n``-terminated line per row from ``start`` (the offsets are worked out from it);
    empty when each source line is its row's line of ``text`` and ``trimmed`` bytes more."""
    offsets: list[int] | None = None
    """Each row's stream offset, when the rows do not come one per line of ``source``."""
    trimmed: int = 0
    """Without ``source``: the bytes each source line had beyond its row (a trimmed last separator). A batch
    of a few MB then holds its text once, not its source beside it, until it is sent."""


class LineBatch(RowBatch):
    """A batch whose rows hold no raw ``\\n`` (an encoder's ``line_rows``) and stay joined as lines of a few texts.

    A LOAD DATA stream is these lines, so the batch is sent with no per-row objects and no join of its
    own; the list of rows and their offsets are made only when asked for (a batch the server did not
    take, whose rows go again as INSERT).
    """

    __slots__ = ("_line_pieces", "_lines", "_line_rows", "_line_offsets")

    def __init__(self, columns: tuple[str, ...] | None, pieces: list[Lines], end: ReadPosition) -> None:
        count = sum(piece.number for piece in pieces)
        super().__init__(columns, [], [], end, sum(len(piece.text) for piece in pieces) - count)
        self._line_pieces = pieces
        self._lines = count
        self._line_rows: list[bytes] | None = None
        self._line_offsets: list[int] | None = None

    def __len__(self) -> int:
        return self._lines

    @property
    def texts(self) -> list[bytes]:
        """The rows, each followed by ``\\n``, in a few texts (not joined: a stream goes piece by piece)."""
        return [piece.text for piece in self._line_pieces]

    @property
    def rows(self) -> list[bytes]:
        if self._line_rows is None:
            self._line_rows = b"".join(self.texts).split(b"\n")
            self._line_rows.pop()
        return self._line_rows

    @property
    def offsets(self) -> list[int]:
        if self._line_offsets is None:
            offsets: list[int] = []
            for piece in self._line_pieces:
                if piece.offsets is not None:
                    offsets += piece.offsets
                else:
                    lines, step = (piece.source, 1) if piece.source else (piece.text, 1 + piece.trimmed)
                    sizes = (len(line) + step for line in lines.split(b"\n", piece.number - 1)[:-1])
                    offsets += accumulate(sizes, initial=piece.start)
            self._line_offsets = offsets
        return self._line_offsets

    @property
    def first_offset(self) -> int:
        return self._line_pieces[0].start

    def values(self) -> bytes:
        return b",".join(self.rows)


class TupleEncoder(Protocol):
    """What the CSV reader needs of an encoder (``backend.tidb.encoder.RowEncoder`` is one)."""

    @property
    def column_kinds(self) -> Sequence[str] | None:
        """One entry per target column in field order (its length is the record width), or None."""

    @property
    def line_rows(self) -> bool:
        """Whether a row never holds a raw ``\\n``: the reader then hands :class:`LineBatch` es."""

    def encode(self, fields: list[bytes | None]) -> bytes:
        """One record's fields (``None`` = NULL) as a SQL tuple."""

    def encode_block(
        self,
        text: bytes,
        sep: bytes,
        *,
        enclosed: bytes = b"",
        null: bytes = b"",
        stand_in: bytes = b"",
        nulls: tuple[bytes, ...] = (),
    ) -> bytes | None:
        """A run of plain records as rows, each followed by ``\\n``, or None to go record by record."""

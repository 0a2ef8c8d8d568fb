"""Parquet data files: row groups into the same :class:`~.rows.RowBatch`\\ es the SQL and CSV readers produce.

A Parquet file is read with pyarrow (the ``parquet`` extra), one row group at a time, so memory
stays at a row group's size whatever the file's. Positions are **row numbers** in the file: a
chunk is a run of whole row groups (:func:`row_group_chunks`), a checkpoint's offset is the next
row to send, and an error names the file and the row.

Each Arrow value becomes the text the server converts exactly, handed to the same
:class:`~.rows.TupleEncoder` the CSV reader uses (which quotes it, or writes ``x'..'`` for a
binary target column): integers and decimals as their exact decimal text (decimal128/256 keep
their scale), floats as the shortest text that reads back to the same double (a float32 as the double it
equals), booleans as 1 / 0,
dates as ``YYYY-MM-DD``, times as ``HH:MM:SS.ffffff``, timestamps as ``YYYY-MM-DD
HH:MM:SS[.fraction]``: a timestamp with a time zone is an instant and is written in UTC (the
session's ``time_zone`` is ``+00:00`` for Parquet files, so a TIMESTAMP column gets that
instant), one without is a wall-clock value written as it is. Strings are UTF-8 (the session's
character set is ``utf8mb4``), binary values are bytes, nulls are NULL. Nested types (list,
struct, map, union), durations and intervals have no SQL column to go to and are refused by
name before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from ..errors import SourceError
from .rows import ReadPosition, RowBatch, TupleEncoder

_BATCH_ROWS = 8192  # rows decoded at a time within a row group


def _arrow() -> tuple[Any, Any, Any]:
    """pyarrow, pyarrow.compute and pyarrow.parquet; imported on first use (an optional extra)."""
    try:
        import pyarrow  # noqa: PLC0415
        import pyarrow.compute  # noqa: PLC0415
        import pyarrow.parquet  # noqa: PLC0415
    except ImportError as exc:
        raise SourceError("Parquet files need pyarrow: pip install 'airflow-provider-tidb-lightning[parquet]'") \
            from exc
    return pyarrow, pyarrow.compute, pyarrow.parquet


def open_parquet(stream: BinaryIO, path: str) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` over ``stream`` (a seekable file or object); SourceError if it is not one."""
    _, _, pq = _arrow()
    try:
        return pq.ParquetFile(stream)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError... for a damaged footer
        raise SourceError(f"not a readable Parquet file: {type(exc).__name__}: {exc}", path=path) from None


def parquet_columns(stream: BinaryIO, path: str) -> tuple[str, ...]:
    """The file's column names, after checking that every column has a type with an SQL literal."""
    schema = open_parquet(stream, path).schema_arrow
    for field in schema:
        _check_type(field.type, field.name, path)
    return tuple(schema.names)


def row_group_chunks(stream: BinaryIO, path: str, region_size: int) -> list[tuple[int, int | None]]:
    """``(first row, end row)`` ranges of whole row groups of about ``region_size`` bytes (uncompressed) each.

    The last range ends at None (the end of the file). A file with one row group is one range.
    """
    meta = open_parquet(stream, path).metadata
    starts = [0]
    row = size = 0
    for index in range(meta.num_row_groups):
        group = meta.row_group(index)
        if size >= region_size:
            starts.append(row)
            size = 0
        row += group.num_rows
        size += group.total_byte_size
    ends: list[int | None] = [*starts[1:], None]
    return list(zip(starts, ends, strict=True))


def _check_type(arrow_type: Any, column: str, path: str) -> None:
    pa, _, _ = _arrow()
    types = pa.types
    if types.is_dictionary(arrow_type):
        _check_type(arrow_type.value_type, column, path)
        return
    if types.is_nested(arrow_type):
        raise SourceError(f"column {column!r} has the nested type {arrow_type}, which no SQL column holds: "
                          "flatten it (or convert it to a JSON string) when writing the file", path=path)
    if types.is_duration(arrow_type) or types.is_interval(arrow_type):
        raise SourceError(f"column {column!r} has the type {arrow_type}, which has no SQL literal: write it as an "
                          "integer or a string", path=path)


def _values(array: Any, column: str, path: str, first_row: int) -> list[bytes | None]:
    """One column of a record batch as the texts (or bytes) the encoder quotes; None for null."""
    pa, pc, _ = _arrow()
    types = pa.types
    kind = array.type
    if types.is_dictionary(kind):
        return _values(array.dictionary_decode(), column, path, first_row)
    if types.is_null(kind):
        return [None] * len(array)
    if types.is_boolean(kind):
        array = array.cast(pa.int8())
    elif types.is_floating(kind):
        bad = pc.or_(pc.is_nan(array), pc.is_inf(array))
        if pc.any(bad).as_py():
            row = first_row + pc.index(bad, True).as_py()
            value = array[row - first_row].as_py()
            raise SourceError(f"column {column!r} row {row} holds {value}, which MySQL and TiDB cannot store",
                              path=path)
        # A float32 (or float16) is written as the double it equals exactly: the server then rounds
        # that double back to the same float, where float32's shortest text may lie past FLT_MAX.
        array = array.cast(pa.float64())
    elif types.is_timestamp(kind) and kind.tz is not None:
        array = array.cast(pa.timestamp(kind.unit))  # the UTC instant, without the zone suffix
    if types.is_binary(kind) or types.is_large_binary(kind) or types.is_fixed_size_binary(kind):
        return array.to_pylist()  # type: ignore[no-any-return]
    if not (types.is_string(kind) or types.is_large_string(kind)):
        array = array.cast(pa.string())
    return array.cast(pa.binary()).to_pylist()  # type: ignore[no-any-return]


class ParquetReader:
    """Rows ``[start, end)`` of a Parquet file as :class:`RowBatch`\\ es whose column list is the file's."""

    def __init__(self, stream: BinaryIO, *, path: str, start: int, end: int | None, encoder: TupleEncoder) -> None:
        self._file = open_parquet(stream, path)
        self._path = path
        self._start = start
        self._end = end
        self._encoder = encoder
        self.columns: tuple[str, ...] = tuple(self._file.schema_arrow.names)
        for field in self._file.schema_arrow:
            _check_type(field.type, field.name, path)

    def _record_batches(self) -> Iterator[tuple[int, Any]]:
        """(first row number, record batch) of the rows from ``start`` to ``end``, a row group at a time."""
        meta = self._file.metadata
        group_start = 0
        for index in range(meta.num_row_groups):
            group_rows = meta.row_group(index).num_rows
            group_end = group_start + group_rows
            if self._end is not None and group_start >= self._end:
                return
            if group_end > self._start:
                row = group_start
                for batch in self._file.iter_batches(batch_size=_BATCH_ROWS, row_groups=[index], use_threads=False):
                    skip = max(0, self._start - row)
                    stop = len(batch) if self._end is None else min(len(batch), self._end - row)
                    if skip < stop:
                        yield row + skip, batch.slice(skip, stop - skip)
                    row += len(batch)
            group_start = group_end

    def batches(self, max_bytes: int, max_rows: int) -> Iterator[RowBatch]:
        """Yield batches of at most ``max_rows`` rows and ``max_bytes`` bytes (at least one row)."""
        if max_bytes <= 0 or max_rows <= 0:
            raise ValueError("max_bytes and max_rows must be positive")
        rows: list[bytes] = []
        offsets: list[int] = []
        nbytes = 0
        encode = self._encoder.encode
        for first, record_batch in self._record_batches():
            columns = [_values(record_batch.column(i), name, self._path, first)
                       for i, name in enumerate(self.columns)]
            for number, fields in enumerate(zip(*columns, strict=True), start=first):
                row = encode(list(fields))
                if rows and (len(rows) >= max_rows or nbytes + len(row) > max_bytes):
                    yield RowBatch(self.columns, rows, offsets, ReadPosition(number), nbytes)
                    rows, offsets, nbytes = [], [], 0
                rows.append(row)
                offsets.append(number)
                nbytes += len(row)
        if rows:
            yield RowBatch(self.columns, rows, offsets, ReadPosition(offsets[-1] + 1), nbytes)


"""The Parquet reader's value texts: exact for every number, instant and string pyarrow can hold.

Each property writes a column with pyarrow, reads it back through :class:`ParquetReader` with the
TiDB backend's encoder, and parses the SQL literal: the text must denote the very value written.
"""

from __future__ import annotations

import io
import math
import struct
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder
from airflow_provider_tidb_lightning.lightning.errors import SourceError
from airflow_provider_tidb_lightning.lightning.mydump.parquet_parser import ParquetReader, row_group_chunks


def _texts(array: pa.Array, *, start: int = 0, end: int | None = None, row_group_size: int = 64) -> list[bytes]:
    """The SQL literal of each value, through a real Parquet file and the real encoder."""
    buffer = io.BytesIO()
    pq.write_table(pa.table({"v": array}), buffer, row_group_size=row_group_size)
    buffer.seek(0)
    reader = ParquetReader(buffer, path="t.parquet", start=start, end=end,
                           encoder=RowEncoder(["number"], no_backslash_escapes=False))
    rows = [row for batch in reader.batches(1 << 20, 7) for row in batch.rows]
    return [row[1:-1] for row in rows]  # strip the tuple's parentheses


def _unquote(literal: bytes) -> str:
    assert literal.startswith(b"'") and literal.endswith(b"'"), literal
    return literal[1:-1].decode()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.decimals(allow_nan=False, allow_infinity=False, places=6,
                            min_value=Decimal("-99999999999999.999999"), max_value=Decimal("99999999999999.999999")),
                min_size=1, max_size=30))
def test_decimals_are_exact(values):
    texts = _texts(pa.array(values, pa.decimal128(20, 6)))
    assert [Decimal(_unquote(t)) for t in texts] == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30))
def test_doubles_read_back_to_the_same_bits(values):
    texts = _texts(pa.array(values, pa.float64()))
    assert [struct.pack("<d", float(_unquote(t))) for t in texts] == [struct.pack("<d", v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=30))
def test_floats_are_written_as_the_double_they_equal(values):
    texts = _texts(pa.array(values, pa.float32()))
    assert [struct.pack("<f", float(_unquote(t))) for t in texts] == [struct.pack("<f", v) for v in values]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-2**63, max_value=2**63 - 1), min_size=1, max_size=30))
def test_integers_are_exact(values):
    assert [int(_unquote(t)) for t in _texts(pa.array(values, pa.int64()))] == values


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31),
                             timezones=st.just(UTC)), min_size=1, max_size=20))
def test_zoned_timestamps_are_written_as_their_utc_instant(values):
    texts = _texts(pa.array(values, pa.timestamp("us", tz="Europe/Paris")))
    parsed = [datetime.fromisoformat(_unquote(t)).replace(tzinfo=UTC) for t in texts]
    assert parsed == values


def test_resume_from_a_row_and_stop_at_a_chunk_end():
    texts = _texts(pa.array(range(100), pa.int32()), start=37, end=64, row_group_size=16)
    assert [int(_unquote(t)) for t in texts] == list(range(37, 64))


def test_chunks_are_whole_row_groups():
    buffer = io.BytesIO()
    pq.write_table(pa.table({"v": pa.array(range(1000), pa.int64())}), buffer, row_group_size=100)
    chunks = row_group_chunks(buffer, "t.parquet", 1)
    assert chunks == [(0, 100), *((n, n + 100) for n in range(100, 900, 100)), (900, None)]
    assert row_group_chunks(buffer, "t.parquet", 1 << 30) == [(0, None)]


def test_not_a_parquet_file_names_the_file():
    with pytest.raises(SourceError, match=r"^t.parquet: not a readable Parquet file"):
        row_group_chunks(io.BytesIO(b"PAR1 but not really"), "t.parquet", 1)


def test_nan_is_refused_with_its_row():
    with pytest.raises(SourceError, match=r"column 'v' row 2 holds nan"):
        _texts(pa.array([1.0, 2.0, math.nan], pa.float64()))

"""RowBatch built from pieces of a dump: rows, offsets, values and the proof are the pieces' own bytes."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition, RowBatch
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader

ROWS = st.lists(st.text("ab ;é,", max_size=6).map(lambda t: b"(1,'" + t.encode() + b"')"), min_size=1, max_size=5)


def test_pieces_keep_a_careful_row_whole_and_split_segments() -> None:
    # A careful row may hold ",\n" inside a string: as a one-row piece it is never split.
    pieces = [(b"(1),\n(2)", 100, 2), (b"('a,\n(b')", 110, 1), (b"(3)", 121, 1)]
    batch = RowBatch.from_pieces(("a",), pieces, ReadPosition(124), proved=False)
    assert len(batch) == 4 and batch.first_offset == 100
    assert batch.rows == [b"(1)", b"(2)", b"('a,\n(b')", b"(3)"]
    assert batch.offsets == [100, 105, 110, 121]
    assert batch.nbytes == sum(map(len, batch.rows))
    assert batch.values() == b"(1),\n(2),('a,\n(b'),(3)"
    assert batch.proved is None


def test_one_proved_piece_goes_uncopied_and_several_are_joined_as_the_dump_has_them() -> None:
    segment = b"(1,'x'),\n(2,'y')"
    one = RowBatch.from_pieces(None, [(segment, 7, 2)], ReadPosition(30), proved=True)
    assert one.values() is segment and one.proved is segment
    two = RowBatch.from_pieces(None, [(segment, 7, 2), (b"(3,'z')", 40, 1)], ReadPosition(50), proved=True)
    assert two.proved == segment + b",\n(3,'z')"
    assert two.offsets == [7, 16, 40]


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(ROWS, min_size=1, max_size=5))
def test_batches_across_statements_give_each_row_at_its_offset(statements: list[list[bytes]]) -> None:
    """A batch spanning several INSERT statements (several pieces of the fast path) reads each row back from
    where the dump has it."""
    data = b"".join(b"INSERT INTO `t` VALUES\n" + b",\n".join(rows) + b";\n" for rows in statements)
    batches = list(SQLReader(io.BytesIO(data), path="t.sql").batches(1 << 20, 1 << 20))
    assert len(batches) == 1
    batch, every_row = batches[0], [row for rows in statements for row in rows]
    assert batch.rows == every_row
    assert [data[o : o + len(r)] for r, o in zip(batch.rows, batch.offsets, strict=True)] == every_row
    assert batch.values().replace(b",\n", b",") == b",".join(every_row)
    assert batch.proved == b",\n".join(every_row)

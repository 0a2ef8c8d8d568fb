"""The readers on a real mydumper dump: the session's TPC-H sample (``sample_sql``), dumped on the test server.

Discovery, region splitting and the SQL parser meet mydumper's own output here: its file names
(lineitem in several numbered files), ``SET NAMES binary``, double-quoted strings and ~1 MB
``INSERT`` statements. The hand-made cases are the unit tests in tests/unit/lightning/mydump/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_tidb_lightning.lightning.config.model import Route
from airflow_provider_tidb_lightning.lightning.mydump import split_chunks
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import sniff_set_names
from tests.support.db_checks import TPCH_COUNTS
from tests.support.mydump_harness import (
    assert_resumes_from_every_batch_end,
    assert_tiles,
    data_file,
    expected_starts,
    flat_sql,
    read_sql,
    run,
    sql_cuts,
    strict,
    table,
)

TPCH_TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]


def test_discovery_lists_every_file(sample_sql: Path) -> None:
    layout = run(sample_sql)
    assert layout.root == str(sample_sql)
    assert [t.source_table for t in layout.tables] == TPCH_TABLES
    assert all(t.target_schema == "tpch" and not t.is_view for t in layout.tables)
    assert layout.ignored == ["metadata"]
    [database] = layout.databases
    assert (database.source_schema, database.target_schema) == ("tpch", "tpch")
    assert database.schema_file is not None and database.schema_file.relative == "tpch-schema-create.sql"

    lineitem = table(layout, "tpch", "lineitem")
    assert [f.relative for f in lineitem.data_files] == [
        "tpch.lineitem.00000.sql",
        "tpch.lineitem.00001.sql",
        "tpch.lineitem.00002.sql",
    ]
    assert lineitem.schema_file is not None and lineitem.schema_file.relative == "tpch.lineitem-schema.sql"
    first = lineitem.data_files[0]
    assert first.path == str(sample_sql / "tpch.lineitem.00000.sql")
    assert first.size == (sample_sql / "tpch.lineitem.00000.sql").stat().st_size
    assert (first.format, first.compression, first.sort_key) == ("sql", "", "00000")
    nation = table(layout, "tpch", "nation")
    assert [(f.relative, f.sort_key) for f in nation.data_files] == [("tpch.nation.sql", "")]


def test_discovery_filtered_to_lineitem(sample_sql: Path) -> None:
    layout = run(sample_sql, filter=("tpch.l*",))
    assert [t.source_table for t in layout.tables] == ["lineitem"]
    assert [d.source_schema for d in layout.databases] == ["tpch"]
    assert layout.ignored == ["metadata"]  # filtered files are not "ignored", they are not selected


def test_discovery_routes_rename_schema_and_table(sample_sql: Path) -> None:
    routes = [
        Route(schema_pattern="tpch", target_schema="analytics"),
        Route(schema_pattern="tpch", table_pattern="lineitem", target_schema="analytics", target_table="li"),
    ]
    layout = run(sample_sql, routes)
    lineitem = table(layout, "tpch", "lineitem")
    assert (lineitem.target_schema, lineitem.target_table) == ("analytics", "li")
    assert {(f.target_schema, f.target_table) for f in lineitem.data_files} == {("analytics", "li")}
    assert {(f.source_schema, f.source_table) for f in lineitem.data_files} == {("tpch", "lineitem")}
    nation = table(layout, "tpch", "nation")
    assert (nation.target_schema, nation.target_table) == ("analytics", "nation")
    assert [(d.source_schema, d.target_schema) for d in layout.databases] == [("tpch", "analytics")]


def test_sql_file_splits_at_insert_statements(sample_sql: Path) -> None:
    path = sample_sql / "tpch.lineitem.00000.sql"
    content = path.read_bytes()
    chunks = split_chunks(data_file(path, "sql"), strict(500_000))
    assert_tiles(chunks, len(content))
    assert [c.start for c in chunks] == expected_starts(sql_cuts(content), len(content), 500_000)
    assert len(chunks) == 3  # mydumper wrote three ~1 MB INSERT statements
    for chunk in chunks[1:]:
        assert content[chunk.start : chunk.start + 12] == b"INSERT INTO "
        assert content[: chunk.start].endswith(b";\n")


def test_sql_row_counts_and_edges(sample_sql: Path) -> None:
    counts: dict[str, int] = {}
    for path in sorted(sample_sql.glob("tpch.*.sql")):
        if path.name.endswith("-schema.sql"):
            continue
        data = path.read_bytes()
        batches = read_sql(data, max_bytes=96 * 1024, max_rows=65536)
        rows = [row for b in batches for row in b.rows]
        table_name = path.name.split(".")[1]
        counts[table_name] = counts.get(table_name, 0) + len(rows)
        # First row: the line after the first "VALUES"; last row: the last line without ";".
        first_line = data.split(b"VALUES\n", 1)[1].split(b"\n", 1)[0]
        assert rows[0] == first_line.rstrip(b",")
        assert rows[-1] == data.rstrip(b"\n").rsplit(b"\n", 1)[1].rstrip(b";")
        assert all(b.nbytes == sum(map(len, b.rows)) for b in batches)
        assert batches[-1].end == ReadPosition(len(data), None, False)
        # Offsets point at the row's bytes.
        for b in batches[:3]:
            for row, off in zip(b.rows, b.offsets, strict=True):
                assert data[off : off + len(row)] == row
    assert counts == TPCH_COUNTS


def test_sql_nation_first_row_exact(sample_sql: Path) -> None:
    data = (sample_sql / "tpch.nation.sql").read_bytes()
    rows = flat_sql(read_sql(data))
    assert rows[0][:2] == (None, b'(0,"ALGERIA",0," haggle. carefully final deposits detect slyly agai")')
    assert sniff_set_names(data[:4096]) == "binary"


def test_sql_tiny_blocks_give_identical_output(sample_sql: Path) -> None:
    data = (sample_sql / "tpch.partsupp.sql").read_bytes()
    expected = flat_sql(read_sql(data, max_bytes=20000, max_rows=1000))
    assert len(expected) == 8000
    assert flat_sql(read_sql(data, max_bytes=20000, max_rows=1000, block_size=7)) == expected
    assert flat_sql(read_sql(data, max_bytes=20000, max_rows=1000, block_size=4099)) == expected


@pytest.mark.parametrize(("max_bytes", "max_rows"), [(1, 1000), (10_000, 1000), (1 << 20, 3), (2000, 7)])
def test_sql_batch_limits(sample_sql: Path, max_bytes: int, max_rows: int) -> None:
    data = (sample_sql / "tpch.supplier.sql").read_bytes()
    batches = read_sql(data, max_bytes=max_bytes, max_rows=max_rows)
    assert sum(len(b.rows) for b in batches) == 100
    for b in batches:
        assert 1 <= len(b.rows) <= max_rows
        assert b.nbytes <= max_bytes or len(b.rows) == 1
    # A batch stops only when the next row would not fit.
    for b, nxt in zip(batches, batches[1:], strict=False):
        assert len(b.rows) == max_rows or b.nbytes + len(nxt.rows[0]) > max_bytes


def test_sql_resume_from_every_batch_end(sample_sql: Path) -> None:
    assert_resumes_from_every_batch_end((sample_sql / "tpch.orders.sql").read_bytes(), 150_000, 1 << 16)

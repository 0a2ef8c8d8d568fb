"""How the mydump tests drive the readers, shared by the unit tests (hand-made files) and the integration
tests on the real mydumper dump (tests/integration/lightning/mydump/test_tpch_dump.py).

``run``/``table``: discover a directory and pick one table. ``read_sql``/``flat_sql``: every batch
of an in-memory SQL file. ``data_file``/``strict``/``assert_tiles``/``expected_starts``/``sql_cuts``:
one data file, strict-format settings, and the whole-file reference that region splits are checked against.
"""

from __future__ import annotations

import io
from pathlib import Path

from airflow_provider_tidb_lightning.lightning.config.model import CSVSection, MydumperSection, Route
from airflow_provider_tidb_lightning.lightning.mydump import Chunk, DataFile, DumpLayout, TableSource, discover
from airflow_provider_tidb_lightning.lightning.mydump.rows import ReadPosition, RowBatch
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader


def run(root: Path, routes: list[Route] | None = None, **options: object) -> DumpLayout:
    return discover(MydumperSection(data_source_dir=str(root), **options), routes or [])  # type: ignore[arg-type]


def table(layout: DumpLayout, schema: str, name: str) -> TableSource:
    matches = [t for t in layout.tables if (t.source_schema, t.source_table) == (schema, name)]
    assert len(matches) == 1, [(t.source_schema, t.source_table) for t in layout.tables]
    return matches[0]


def read_sql(
    data: bytes,
    *,
    max_bytes: int = 1 << 20,
    max_rows: int = 1 << 20,
    block_size: int = 1 << 20,
    start: int = 0,
    end: int | None = None,
    resume: ReadPosition | None = None,
) -> list[RowBatch]:
    offset = resume.offset if resume else start
    stream = io.BytesIO(data)
    stream.seek(offset)
    reader = SQLReader(stream, path="t.sql", start=start, end=end, resume=resume, block_size=block_size)
    return list(reader.batches(max_bytes, max_rows))


def flat_sql(batches: list[RowBatch]) -> list[tuple[tuple[str, ...] | None, bytes, int]]:
    return [(b.columns, row, off) for b in batches for row, off in zip(b.rows, b.offsets, strict=True)]


def assert_resumes_from_every_batch_end(data: bytes, max_bytes: int, block_size: int) -> None:
    """Resuming at any batch's end position gives exactly the rows that followed it in one pass."""
    batches = read_sql(data, max_bytes=max_bytes, max_rows=5000, block_size=block_size)
    assert len(batches) > 5
    all_rows = flat_sql(batches)
    seen = 0
    for b in batches:
        seen += len(b.rows)
        rest = flat_sql(read_sql(data, max_bytes=max_bytes, max_rows=5000, block_size=block_size, resume=b.end))
        assert rest == all_rows[seen:]


def data_file(path: Path, fmt: str, compression: str = "") -> DataFile:
    return DataFile(
        path=str(path),
        relative=path.name,
        source_schema="db",
        source_table="t",
        target_schema="db",
        target_table="t",
        format=fmt,
        compression=compression,
        size=path.stat().st_size,
        sort_key="",
    )


def strict(region: int, **csv: object) -> MydumperSection:
    return MydumperSection(strict_format=True, max_region_size=region, csv=CSVSection(**csv))  # type: ignore[arg-type]


def assert_tiles(chunks: list[Chunk], size: int) -> None:
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].start == 0 and chunks[-1].end is None
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end == after.start and before.start < after.start < size


def expected_starts(cuts: list[int], size: int, region: int) -> list[int]:
    """Reference: from each start, the first cut at or after start + region (whole-file view)."""
    starts = [0]
    while True:
        later = [c for c in cuts if c >= starts[-1] + region and c < size]
        if not later:
            return starts
        starts.append(min(later))


def sql_cuts(content: bytes) -> list[int]:
    cuts, offset = [], 0
    lines = content.split(b"\n")
    for previous, line in zip(lines, lines[1:], strict=False):
        offset += len(previous) + 1
        if previous.rstrip(b" \t\r").endswith(b";") and line.upper().startswith((b"INSERT", b"REPLACE")):
            cuts.append(offset)
    return cuts

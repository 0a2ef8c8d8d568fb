"""A short read of each table's first data file: its largest row and how fast the dump reads and encodes.

The pre-checks compare the largest sampled row with ``max_allowed_packet`` (a row that does not fit
in one statement cannot be imported at all), and the dry run turns the read rate into an estimated
time. Reading is the same as the import's (:mod:`.file_facts`, the SQL and CSV readers, the
encoder) so the sample sees rows as the writers would send them, but it stops after
``limit`` bytes per table and nothing goes to the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..backend.tidb.encoder import RowEncoder, column_kind
from ..config.model import TaskConfig
from ..mydump.compression import open_source, skip_to
from ..mydump.csv_parser import CSVReader
from ..mydump.sql_parser import ANSI_QUOTES_MODES, SQLReader
from .file_facts import FileFactsCache
from .plan import Plan

DEFAULT_SAMPLE_BYTES = 256 * 1024  # per table: enough rows for a rate, little enough for thousands of tables
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class TableSample:
    table: str  # `db`.`tbl`
    rows: int
    bytes: int  # decompressed source bytes read
    seconds: float
    largest_row: int  # bytes of the largest encoded row tuple
    largest_row_path: str
    largest_row_offset: int


def sample_tables(config: TaskConfig, plan: Plan, table_columns: dict[str, list[tuple[str, str]]],
                  limit: int = DEFAULT_SAMPLE_BYTES) -> list[TableSample]:
    """Read up to ``limit`` bytes of rows from the first chunk of every table that has data.

    ``table_columns`` (`db`.`tbl` -> [(name, data type)]) types CSV values as the target would;
    a table missing there is read with every CSV value as a string, which changes no row's size much.
    """
    facts = FileFactsCache(config)
    modes = set((config.tidb.sql_mode or "").upper().replace(" ", "").split(","))
    samples = []
    for job in plan.tables:
        if not job.chunks:
            continue
        chunk = job.chunks[0]
        data_file = chunk.file
        started = time.perf_counter()
        rows = largest = largest_offset = 0
        read_to = chunk.start
        reader: SQLReader | CSVReader
        if data_file.format not in ("sql", "csv"):
            continue  # Parquet: row groups, not text; its rows are checked as they are written
        head = facts.get(data_file)
        with open_source(data_file.path, data_file.compression, opener=data_file.opener) as stream:
            if data_file.format == "sql":
                reader = SQLReader(stream, path=data_file.relative, start=chunk.start, end=chunk.end, block_size=_BLOCK,
                                   no_backslash_escapes="NO_BACKSLASH_ESCAPES" in modes,
                                   dump_no_backslash_escapes=head.dump_no_backslash_escapes,
                                   ansi_quotes=not modes.isdisjoint(ANSI_QUOTES_MODES))
            else:
                start = max(chunk.start, head.header_end)
                skip_to(stream, start, path=data_file.relative)
                types = {name.lower(): kind for name, kind in table_columns.get(job.key, [])}
                names = head.columns or tuple(name for name, _ in table_columns.get(job.key, []))
                kinds = [column_kind(types[n.lower()]) for n in names if n.lower() in types] or None
                encoder = RowEncoder(kinds if kinds and len(kinds) == len(names) else None,
                                     no_backslash_escapes="NO_BACKSLASH_ESCAPES" in modes)
                reader = CSVReader(stream, path=data_file.relative, csv=config.mydumper.csv, start=start,
                                   end=chunk.end, columns=head.columns, encoder=encoder, block_size=_BLOCK)
                read_to = start
            for batch in reader.batches(limit, 1 << 30):
                for row, offset in zip(batch.rows, batch.offsets, strict=True):
                    if len(row) > largest:
                        largest, largest_offset = len(row), offset
                rows += len(batch)
                read_to = batch.end.offset
                if read_to - chunk.start >= limit:
                    break
        samples.append(TableSample(job.key, rows, read_to - chunk.start, time.perf_counter() - started, largest,
                                   data_file.relative, largest_offset))
    return samples

"""Micro-benchmark of the data-file readers on TPC-H at scale 0.01 (not a test).

Prints MB/s of source bytes per reader, best of a few runs, reading from memory so only the
parsing and encoding are measured. Usage, from the repository root: ``python -m benchmarks.readers
[sample_dir]``, where ``sample_dir`` holds ``tbl/`` and ``mydumper-sql/``; without it the benchmark's
cache ``.bench/sf0.01/`` is used, made first (on a throw-away server) when missing.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

from airflow_provider_tidb_lightning.lightning.backend.tidb.encoder import RowEncoder
from airflow_provider_tidb_lightning.lightning.config.model import CSVSection
from airflow_provider_tidb_lightning.lightning.mydump.csv_parser import CSVReader
from airflow_provider_tidb_lightning.lightning.mydump.sql_parser import SQLReader
from benchmarks.server import ScratchServer
from benchmarks.tpch_data import CACHE_DIR, prepare

SCALE = 0.01
BATCH_BYTES, BATCH_ROWS, RUNS = 96 * 1024, 65536, 5


def best_mb_per_s(files: list[bytes], read: Callable[[bytes], int]) -> tuple[float, int]:
    total = sum(map(len, files))
    best = float("inf")
    rows = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        rows = sum(read(data) for data in files)
        best = min(best, time.perf_counter() - started)
    return total / best / 1e6, rows


def read_sql(fast: bool = True) -> Callable[[bytes], int]:
    def read(data: bytes) -> int:
        reader = SQLReader(io.BytesIO(data), path="bench.sql", fast=fast)
        return sum(len(b) for b in reader.batches(BATCH_BYTES, BATCH_ROWS))

    return read


def read_csv(csv: CSVSection, fast: bool = True) -> Callable[[bytes], int]:
    def read(data: bytes) -> int:
        reader = CSVReader(
            io.BytesIO(data),
            path="bench.csv",
            csv=csv,
            columns=None,
            encoder=RowEncoder(None, no_backslash_escapes=False),
            fast=fast,  # False: measure the careful path on the same input
        )
        return sum(len(b.rows) for b in reader.batches(BATCH_BYTES, BATCH_ROWS))

    return read


def all_quoted(tbl: bytes) -> bytes:
    """A ``.tbl`` file as CSV with every field quoted."""
    return b"".join(b'"' + line[:-1].replace(b"|", b'","') + b'"\n' for line in tbl.splitlines())


def dumpling_style(lineitem: bytes) -> bytes:
    """lineitem as Dumpling writes it: numbers bare, strings quoted, NULL as ``\\N``, ``\\r\\n`` lines."""
    lines = []
    for n, line in enumerate(lineitem.splitlines()):
        fields = line[:-1].split(b"|")
        values = [f if i < 8 else b'"' + f + b'"' for i, f in enumerate(fields)]
        if n % 7 == 0:
            values[n % 16] = b"\\N"
        lines.append(b",".join(values) + b"\r\n")
    return b"".join(lines)


def main() -> None:
    if len(sys.argv) > 1:
        sample = Path(sys.argv[1])
    else:
        with ScratchServer() as server:
            sample = prepare(CACHE_DIR, SCALE, server).root
    sql = [p.read_bytes() for p in sorted((sample / "mydumper-sql").glob("tpch.*.sql")) if "-schema" not in p.name]
    tbl = [p.read_bytes() for p in sorted((sample / "tbl").glob("*.tbl"))]
    tbl_csv = CSVSection(separator="|", delimiter="", header=False, trim_last_separator=True)
    # The same rows as quoted CSV: every field quoted, and Dumpling's style (strings quoted, numbers
    # bare, every 7th value NULL), with a separator inside quotes in TPC-H's comments.
    lineitem = (sample / "tbl" / "lineitem.tbl").read_bytes()
    quoted = [all_quoted(t) for t in tbl]
    quoted_lineitem = [all_quoted(lineitem)]
    dumpling = [dumpling_style(lineitem)]
    cases = [
        ("SQL (mydumper INSERT)", sql, read_sql()),
        ("SQL (careful path)", sql, read_sql(fast=False)),
        ("CSV .tbl -> SQL", tbl, read_csv(tbl_csv)),
        ("CSV .tbl -> SQL (careful path)", tbl, read_csv(tbl_csv, fast=False)),
        ("CSV quoted -> SQL", quoted, read_csv(CSVSection(header=False))),
        ("CSV quoted lineitem", quoted_lineitem, read_csv(CSVSection(header=False))),
        ("CSV quoted lineitem (careful path)", quoted_lineitem, read_csv(CSVSection(header=False), fast=False)),
        ("CSV Dumpling-style lineitem", dumpling, read_csv(CSVSection(header=False))),
    ]
    for name, files, read in cases:
        speed, rows = best_mb_per_s(files, read)
        print(f"{name:36s} {speed:8.1f} MB/s  ({rows} rows, {sum(map(len, files)) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()

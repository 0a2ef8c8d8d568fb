"""The benchmark's input: TPC-H rows as ``.tbl`` files and as a mydumper dump, cached per scale.

Both are made by the project's one TPC-H generator (``tests/support/tpch.py``, which the tests use
at scale 0.01): ``tpchgen-cli`` writes the ``|``-separated ``.tbl`` files (the CSV loaders read
these); the rows are loaded into a source database ``tpch`` and dumped by Debian's ``mydumper``
with ``-r 20000`` (the SQL loaders read that dump). Both are kept under ``.bench/sf<scale>/``
(``tbl/`` and ``mydumper-sql/``): generating and dumping SF 1 takes minutes, the loads being
measured should not wait for it on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.server import ScratchServer
from tests.support.tpch import SOURCE_DB, TABLES, create_schema, generate_tbl, make_sample

__all__ = ["CACHE_DIR", "SOURCE_DB", "TABLES", "Dataset", "create_schema", "prepare"]

CACHE_DIR = Path(__file__).resolve().parent.parent / ".bench"


@dataclass(frozen=True)
class Dataset:
    """Where one scale's cached inputs live, and their sizes (the MB/s denominators)."""

    root: Path

    @property
    def tbl_dir(self) -> Path:
        return self.root / "tbl"

    @property
    def dump_dir(self) -> Path:
        return self.root / "mydumper-sql"

    def tbl_file(self, table: str) -> Path:
        return self.tbl_dir / f"{table}.tbl"

    def tbl_bytes(self) -> int:
        return sum(self.tbl_file(t).stat().st_size for t in TABLES)

    def dump_sql_files(self, table: str) -> list[Path]:
        """The data files of ``table`` in the dump, in mydumper's chunk order."""
        single = self.dump_dir / f"{SOURCE_DB}.{table}.sql"
        chunks = sorted(self.dump_dir.glob(f"{SOURCE_DB}.{table}.[0-9]*.sql"))
        return chunks or ([single] if single.exists() else [])

    def dump_schema_file(self, table: str) -> Path:
        return self.dump_dir / f"{SOURCE_DB}.{table}-schema.sql"

    def dump_data_bytes(self) -> int:
        """Bytes of INSERT statements in the dump (schema files excluded): what SQL loaders parse."""
        return sum(f.stat().st_size for t in TABLES for f in self.dump_sql_files(t))

    def tbl_parts(self, streams: int) -> list[list[Path]]:
        """Each table's ``.tbl`` file cut at line ends into ``streams`` parts of equal size, one list of
        parts per stream: what ``streams`` parallel LOAD DATA sessions read (made once, cached)."""
        parts_dir = self.root / f"tbl-parts{streams}"
        if not (parts_dir / "done").is_file():
            parts_dir.mkdir(exist_ok=True)
            for table in TABLES:
                _cut(self.tbl_file(table), [parts_dir / f"{table}.{k}.tbl" for k in range(streams)])
            (parts_dir / "done").touch()
        return [[parts_dir / f"{table}.{k}.tbl" for table in TABLES] for k in range(streams)]

    def expected_rows(self) -> dict[str, int]:
        """Rows per table, counted from the ``.tbl`` lines: the truth every load is checked against."""
        return {t: _count_lines(self.tbl_file(t)) for t in TABLES}


def prepare(cache_root: Path, scale: float, server: ScratchServer) -> Dataset:
    """Make sure ``.tbl`` files and a complete dump exist for ``scale``, generating only what is missing."""
    dataset = Dataset(cache_root / f"sf{scale:g}")
    if not (dataset.dump_dir / "metadata").is_file():
        print(f"generating TPC-H SF {scale:g} with tpchgen-cli (if not cached), loading it into the source "
              "database and dumping it with mydumper ...", flush=True)
        make_sample(dataset.root, server, scale)
    elif not dataset.tbl_dir.is_dir():
        print(f"generating TPC-H SF {scale:g} with tpchgen-cli ...", flush=True)
        generate_tbl(dataset.tbl_dir, scale)
    return dataset


def _cut(source: Path, parts: list[Path]) -> None:
    """Copy ``source`` into ``parts`` of (nearly) equal size, each ending at a line end."""
    size = source.stat().st_size
    with source.open("rb") as f:
        for k, part in enumerate(parts):
            with part.open("wb") as out:
                goal = size * (k + 1) // len(parts) - f.tell()
                while goal > 0 and (block := f.read(min(goal, 1 << 20))):
                    out.write(block)
                    goal -= len(block)
                out.write(f.readline() if k < len(parts) - 1 else f.read())


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
    return lines

"""The benchmark's input: TPC-H rows as ``.tbl`` files and as a mydumper dump, cached per scale.

``tpchgen-cli`` writes the ``|``-separated ``.tbl`` files (the CSV loaders read these); the rows
are then loaded into a source database ``tpch`` and dumped by Debian's ``mydumper`` with
``-r 20000``, the same way the sample in ``shared/samples/tpch-sf0.01`` was made (the SQL loaders
read that dump). Both are kept under ``.bench/sf<scale>/``: generating and dumping SF 1 takes
minutes, the loads being measured should not wait for it on every run. A directory is only
renamed into place once complete, so an interrupted run never leaves a half cache behind.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from prerequisites import venv_script
from pymysql.cursors import Cursor
from server import ScratchServer

SOURCE_DB = "tpch"
DUMP_ROWS_PER_FILE = 20000

# Load order parents-first; foreign keys are not declared, so the order only matters to humans.
TABLES: dict[str, str] = {
    "region": """
        r_regionkey INT NOT NULL,
        r_name CHAR(25) NOT NULL,
        r_comment VARCHAR(152),
        PRIMARY KEY (r_regionkey)""",
    "nation": """
        n_nationkey INT NOT NULL,
        n_name CHAR(25) NOT NULL,
        n_regionkey INT NOT NULL,
        n_comment VARCHAR(152),
        PRIMARY KEY (n_nationkey)""",
    "supplier": """
        s_suppkey INT NOT NULL,
        s_name CHAR(25) NOT NULL,
        s_address VARCHAR(40) NOT NULL,
        s_nationkey INT NOT NULL,
        s_phone CHAR(15) NOT NULL,
        s_acctbal DECIMAL(15,2) NOT NULL,
        s_comment VARCHAR(101) NOT NULL,
        PRIMARY KEY (s_suppkey)""",
    "customer": """
        c_custkey INT NOT NULL,
        c_name VARCHAR(25) NOT NULL,
        c_address VARCHAR(40) NOT NULL,
        c_nationkey INT NOT NULL,
        c_phone CHAR(15) NOT NULL,
        c_acctbal DECIMAL(15,2) NOT NULL,
        c_mktsegment CHAR(10) NOT NULL,
        c_comment VARCHAR(117) NOT NULL,
        PRIMARY KEY (c_custkey)""",
    "part": """
        p_partkey INT NOT NULL,
        p_name VARCHAR(55) NOT NULL,
        p_mfgr CHAR(25) NOT NULL,
        p_brand CHAR(10) NOT NULL,
        p_type VARCHAR(25) NOT NULL,
        p_size INT NOT NULL,
        p_container CHAR(10) NOT NULL,
        p_retailprice DECIMAL(15,2) NOT NULL,
        p_comment VARCHAR(23) NOT NULL,
        PRIMARY KEY (p_partkey)""",
    "partsupp": """
        ps_partkey INT NOT NULL,
        ps_suppkey INT NOT NULL,
        ps_availqty INT NOT NULL,
        ps_supplycost DECIMAL(15,2) NOT NULL,
        ps_comment VARCHAR(199) NOT NULL,
        PRIMARY KEY (ps_partkey, ps_suppkey)""",
    "orders": """
        o_orderkey BIGINT NOT NULL,
        o_custkey INT NOT NULL,
        o_orderstatus CHAR(1) NOT NULL,
        o_totalprice DECIMAL(15,2) NOT NULL,
        o_orderdate DATE NOT NULL,
        o_orderpriority CHAR(15) NOT NULL,
        o_clerk CHAR(15) NOT NULL,
        o_shippriority INT NOT NULL,
        o_comment VARCHAR(79) NOT NULL,
        PRIMARY KEY (o_orderkey)""",
    "lineitem": """
        l_orderkey BIGINT NOT NULL,
        l_partkey INT NOT NULL,
        l_suppkey INT NOT NULL,
        l_linenumber INT NOT NULL,
        l_quantity DECIMAL(15,2) NOT NULL,
        l_extendedprice DECIMAL(15,2) NOT NULL,
        l_discount DECIMAL(15,2) NOT NULL,
        l_tax DECIMAL(15,2) NOT NULL,
        l_returnflag CHAR(1) NOT NULL,
        l_linestatus CHAR(1) NOT NULL,
        l_shipdate DATE NOT NULL,
        l_commitdate DATE NOT NULL,
        l_receiptdate DATE NOT NULL,
        l_shipinstruct CHAR(25) NOT NULL,
        l_shipmode CHAR(10) NOT NULL,
        l_comment VARCHAR(44) NOT NULL,
        PRIMARY KEY (l_orderkey, l_linenumber)""",
}


@dataclass(frozen=True)
class Dataset:
    """Where one scale's cached inputs live, and their sizes (the MB/s denominators)."""

    root: Path

    @property
    def tbl_dir(self) -> Path:
        return self.root / "tbl"

    @property
    def dump_dir(self) -> Path:
        return self.root / "dump"

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

    def expected_rows(self) -> dict[str, int]:
        """Rows per table, counted from the ``.tbl`` lines: the truth every load is checked against."""
        return {t: _count_lines(self.tbl_file(t)) for t in TABLES}


def prepare(cache_root: Path, scale: float, server: ScratchServer) -> Dataset:
    """Make sure ``.tbl`` files and a complete dump exist for ``scale``, generating only what is missing."""
    dataset = Dataset(cache_root / f"sf{scale:g}")
    if not dataset.tbl_dir.is_dir():
        print(f"generating TPC-H SF {scale:g} with tpchgen-cli ...", flush=True)
        _generate_tbl(dataset.tbl_dir, scale)
    if not (dataset.dump_dir / "metadata").is_file():
        print("loading the source database and dumping it with mydumper ...", flush=True)
        create_schema(server, SOURCE_DB)
        load_data_infile(server, SOURCE_DB, dataset)
        _dump(server, dataset.dump_dir)
        server.execute(f"DROP DATABASE {SOURCE_DB}")
    return dataset


def create_schema(server: ScratchServer, database: str) -> None:
    """Create ``database`` afresh with the eight TPC-H tables, empty."""
    server.execute(f"DROP DATABASE IF EXISTS `{database}`", f"CREATE DATABASE `{database}`",
                   *(f"CREATE TABLE `{database}`.`{t}` ({cols}\n)" for t, cols in TABLES.items()))


def load_data_infile(server: ScratchServer, database: str, dataset: Dataset) -> None:
    """Fill the existing tables of ``database`` from the ``.tbl`` files."""
    with server.connect(database, local_infile=True) as conn, conn.cursor() as cur:
        load_tbl_files(cur, dataset.tbl_dir)


def load_tbl_files(cursor: Cursor, tbl_dir: Path) -> None:
    """``LOAD DATA LOCAL INFILE`` each table's ``.tbl`` file; the connection must allow local infile.

    Lines end in ``|\\n`` (a trailing separator), which ``LINES TERMINATED BY '|\\n'`` absorbs;
    ``ESCAPED BY ''`` because TPC-H text has no escapes and a backslash must stay a backslash.
    """
    for table in TABLES:
        cursor.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` "
                       "FIELDS TERMINATED BY '|' ESCAPED BY '' LINES TERMINATED BY '|\\n'",
                       (str(tbl_dir / f"{table}.tbl"),))


def _generate_tbl(target: Path, scale: float) -> None:
    staging = _fresh_dir(target.with_name(target.name + ".partial"))
    subprocess.run([venv_script("tpchgen-cli"), "-s", f"{scale:g}", "--output-dir", str(staging), "--quiet"],
                   check=True)
    missing = [t for t in TABLES if not (staging / f"{t}.tbl").is_file()]
    if missing:
        raise RuntimeError(f"tpchgen-cli wrote no file for {', '.join(missing)} in {staging}")
    staging.rename(target)


def _dump(server: ScratchServer, target: Path) -> None:
    staging = _fresh_dir(target.with_name(target.name + ".partial"))
    subprocess.run(["mydumper", *server.client_args(), "-B", SOURCE_DB, "-o", str(staging),
                    "-r", str(DUMP_ROWS_PER_FILE), "-v", "1"], check=True)
    if not (staging / "metadata").is_file():
        raise RuntimeError(f"mydumper finished without writing {staging / 'metadata'}")
    staging.rename(target)


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
    return lines

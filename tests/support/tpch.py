"""The project's one TPC-H generator: ``.tbl`` files from ``tpchgen-cli``, and a real mydumper dump of them.

The tests, ``make demo`` and the benchmark all read TPC-H in the layout of the reference sample
every developer has seen (``tpch-sf0.01/`` with ``tbl/`` and ``mydumper-sql/``):

- ``tbl/<table>.tbl``: ``|``-separated rows with a trailing ``|``, exactly as ``tpchgen-cli`` writes
  them (no server needed, about a second at scale 0.01);
- ``mydumper-sql/``: the rows loaded into a source database ``tpch`` (utf8mb4_general_ci, as the
  sample's was) with ``LOAD DATA LOCAL INFILE``, then dumped by Debian's ``mydumper`` 0.10 with
  ``-r 20000``: schema-create, table schema and data files (lineitem split in several), plain
  ``INSERT`` statements under ``SET NAMES binary``, and the ``metadata`` file that marks a complete dump.

Nothing here imports pytest: the demo runs it as a command (``python -m tests.support.tpch DIR
--port PORT``) and the benchmark imports it. Directories are built under a ``.partial`` name and
renamed into place once complete, so an interrupted run never leaves half a sample that looks whole.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pymysql

SOURCE_DB = "tpch"
DUMP_ROWS_PER_FILE = 20000
# The sample's database collation (MariaDB's utf8mb4 default), whatever the server's default is.
SOURCE_COLLATION = "utf8mb4_general_ci"
MYDUMPER = "/usr/bin/mydumper"
TOOL_TIMEOUT_S = 3600

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


class Server(Protocol):
    """What the dump step needs of a server: the test server, the demo's and the benchmark's all have it."""

    host: str
    port: int
    user: str
    password: str

    def connect(self, database: str | None = None, **kwargs: Any) -> Any: ...


class MissingTool(RuntimeError):
    """``tpchgen-cli`` or ``mydumper`` is not installed; the message says how to install it."""


class ToolFailed(RuntimeError):
    """``tpchgen-cli`` or ``mydumper`` exited with an error, or left out a file it should have written."""


def tpchgen_program() -> str:
    """``tpchgen-cli`` next to this interpreter (``.venv/bin/python`` does not put ``.venv/bin`` on PATH)."""
    beside = Path(sys.executable).parent / "tpchgen-cli"
    program = str(beside) if beside.is_file() else shutil.which("tpchgen-cli")
    if program is None:
        raise MissingTool("tpchgen-cli not found: `pip install -e '.[test]'` installs it (as `make test` does)")
    return program


def mydumper_program() -> str:
    """Debian's ``mydumper``, also when ``/usr/bin`` is not on ``PATH``."""
    program = shutil.which("mydumper") or (MYDUMPER if os.access(MYDUMPER, os.X_OK) else None)
    if program is None:
        raise MissingTool(f"mydumper not found (expected {MYDUMPER}): `apt-get install mydumper`, "
                          "as `make test` does when run as root")
    return program


def generate_tbl(target: Path, scale: float) -> Path:
    """Write the eight ``<table>.tbl`` files for ``scale`` into ``target`` (which must not exist yet)."""
    staging = _fresh_dir(target.with_name(target.name + ".partial"))
    _run([tpchgen_program(), "-s", f"{scale:g}", "--output-dir", str(staging), "--quiet"])
    missing = [t for t in TABLES if not (staging / f"{t}.tbl").is_file()]
    if missing:
        raise ToolFailed(f"tpchgen-cli wrote no file for {', '.join(missing)} in {staging}")
    staging.rename(target)
    return target


def create_schema(server: Server, database: str) -> None:
    """Create ``database`` with the eight TPC-H tables, empty; fails if it exists (never drops others' data)."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}` DEFAULT CHARACTER SET utf8mb4 COLLATE {SOURCE_COLLATION}")
        for table, columns in TABLES.items():
            cur.execute(f"CREATE TABLE `{database}`.`{table}` ({columns}\n)")


def load_tbl_files(cursor: Any, tbl_dir: Path) -> None:
    """``LOAD DATA LOCAL INFILE`` each table's ``.tbl`` file; the connection must allow local infile.

    Lines end in ``|\\n`` (a trailing separator), which ``LINES TERMINATED BY '|\\n'`` absorbs;
    ``ESCAPED BY ''`` because TPC-H text has no escapes and a backslash must stay a backslash.
    """
    for table in TABLES:
        cursor.execute(f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` "
                       "FIELDS TERMINATED BY '|' ESCAPED BY '' LINES TERMINATED BY '|\\n'",
                       (str(tbl_dir / f"{table}.tbl"),))


def mydumper_command(server: Server, database: str, outdir: Path, *options: str) -> list[str]:
    """The mydumper command line that dumps ``database`` of ``server`` into ``outdir``, two threads."""
    cmd = [mydumper_program(), "--host", server.host, "--port", str(server.port), "--user", server.user,
           "--database", database, "--outputdir", str(outdir), "--threads", "2", *options]
    if server.password:
        cmd += ["--password", server.password]
    return cmd


def dump(server: Server, database: str, target: Path, rows_per_file: int = DUMP_ROWS_PER_FILE) -> Path:
    """Dump ``database`` with mydumper into ``target`` (which must not exist yet); returns ``target``."""
    staging = _fresh_dir(target.with_name(target.name + ".partial"))
    output = _run(mydumper_command(server, database, staging, "--rows", str(rows_per_file), "--verbose", "1"))
    if "CRITICAL" in output or not (staging / "metadata").is_file():
        raise ToolFailed(f"mydumper did not finish the dump of {database} into {staging}:\n{output}")
    staging.rename(target)
    return target


def make_sample(root: Path, server: Server, scale: float = 0.01) -> Path:
    """Build ``root/tbl`` (if missing) and ``root/mydumper-sql`` through a temporary ``tpch`` database.

    The source database is dropped afterwards, so imports of the dump into ``tpch`` start from nothing.
    """
    tbl_dir = root / "tbl"
    if not tbl_dir.is_dir():
        generate_tbl(tbl_dir, scale)
    create_schema(server, SOURCE_DB)
    try:
        with server.connect(SOURCE_DB, local_infile=True) as conn, conn.cursor() as cur:
            load_tbl_files(cur, tbl_dir)
        dump(server, SOURCE_DB, root / "mydumper-sql")
    finally:
        with server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{SOURCE_DB}`")
    return root


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise ToolFailed(f"{Path(cmd[0]).name} failed ({done.returncode}): {' '.join(cmd)}\n{output}")
    return output


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@dataclass
class _RunningServer:
    """A server someone else started (the demo's throw-away MariaDB): root, no password, on 127.0.0.1."""

    port: int
    host: str = "127.0.0.1"
    user: str = "root"
    password: str = ""

    def connect(self, database: str | None = None, **kwargs: Any) -> Any:
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               database=database, autocommit=True, **kwargs)


def main() -> None:
    """``python -m tests.support.tpch DIR --port PORT``: the demo's dump, made on its throw-away server."""
    parser = argparse.ArgumentParser(description="Make DIR/tbl and DIR/mydumper-sql (TPC-H) on a running server.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args()
    server = _RunningServer(port=args.port)
    try:
        make_sample(args.directory, server, args.scale)
    except (MissingTool, ToolFailed) as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()

"""The Python peers' side of a load, run in a child process by :mod:`peers`.

Running them as children (not inside the harness) gives each its own peak RSS and keeps
Airflow's imports and logging out of the harness. Each prints its load time as a last JSON
line, measured after imports, so the comparison is about loading, not interpreter start-up.

Usage: ``python -m benchmarks.peer_worker {insert-rows|load-data} PORT DATABASE TBL_DIR`` (from the
repository root); ``insert-rows``
reads its connection from ``AIRFLOW_CONN_BENCH_TARGET``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql

from tests.support.tpch import TABLES, load_tbl_files


def tbl_rows(path: Path) -> Iterator[tuple[str, ...]]:
    """Rows of a ``.tbl`` file as tuples of strings, dropping the empty field after the trailing ``|``."""
    with path.open(encoding="utf-8", newline="\n") as f:
        for line in f:
            yield tuple(line.rstrip("\n").split("|")[:-1])


def insert_rows(port: int, database: str, tbl_dir: Path) -> Callable[[], None]:
    """What an Airflow user writes without a bulk path: ``MySqlHook.insert_rows`` with its defaults."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    hook = MySqlHook(mysql_conn_id="bench_target")

    def load() -> None:
        for table in TABLES:
            hook.insert_rows(table, tbl_rows(tbl_dir / f"{table}.tbl"))

    return load


def load_data(port: int, database: str, tbl_dir: Path) -> Callable[[], None]:
    """The server's own bulk path: ``LOAD DATA LOCAL INFILE`` of each ``.tbl`` file through PyMySQL."""

    def load() -> None:
        conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="", database=database,
                               local_infile=True, autocommit=True)
        with conn, conn.cursor() as cur:
            load_tbl_files(cur, tbl_dir)

    return load


# Each worker does its untimed set-up (imports, hook creation) and returns the load to time.
WORKERS: dict[str, Callable[[int, str, Path], Callable[[], None]]] = {
    "insert-rows": insert_rows,
    "load-data": load_data,
}


def main(argv: list[str]) -> None:
    mode, port, database, tbl_dir = argv
    load = WORKERS[mode](int(port), database, Path(tbl_dir))
    started = time.perf_counter()
    load()
    print(json.dumps({"seconds": time.perf_counter() - started}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

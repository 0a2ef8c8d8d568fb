"""Would SQL dumps load faster as LOAD DATA streams? The measurement behind docs/performance.md.

Usage, from the repository root: ``.venv/bin/python -m benchmarks.sql_as_load_data [--scale 0.3] [--rounds 2]``.

Cuts the cached mydumper dump (``.bench/sf<scale>/mydumper-sql``, made by ``benchmarks.run``)
into ~96 KiB segments of whole rows, and sends every segment twice into fresh tables of a private
server, alternating: once as ``INSERT INTO t VALUES <segment>`` (what the engine does), once as a
``LOAD DATA LOCAL INFILE`` stream of the very same bytes that the server reads as rows
(``ENCLOSED BY '"' LINES STARTING BY '(' TERMINATED BY '),\\n'``). Two threads, one COMMIT per
segment. Prints wall time and the CPU the server and this client used, and checks that both
loads hold the same data (``CHECKSUM TABLE``). A prototype for measuring only: it trusts the dump
(mydumper's quoting, no unquoted literal other than numbers and NULL), which the engine cannot.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql

from airflow_provider_tidb_lightning.lightning.backend.tidb.load_data import send_stream
from benchmarks.server import ScratchServer
from benchmarks.tpch_data import CACHE_DIR, TABLES, Dataset, create_schema

SEGMENT = 96 * 1024
STREAM_FORMAT = ("CHARACTER SET binary FIELDS TERMINATED BY ',' ENCLOSED BY '\"' ESCAPED BY '\\\\' "
                 "LINES STARTING BY '(' TERMINATED BY '),\\n'")


def segments(path: Path) -> Iterator[bytes]:
    """The rows of each ``INSERT ... VALUES\\n(..),\\n(..);`` statement of a mydumper file, ~SEGMENT bytes at a time."""
    for statement in path.read_bytes().split(b";\n"):
        start = statement.find(b"VALUES\n")
        if start < 0:
            continue
        body, pos = statement[start + 7 :], 0
        while pos < len(body):
            cut = body.find(b",\n(", pos + SEGMENT)
            end = len(body) if cut < 0 else cut
            yield body[pos:end]
            pos = end + 2


def load(port: int, database: str, files: list[Path], how: str) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", database=database, autocommit=False,
                           local_infile=True)
    with conn, conn.cursor() as cur:
        cur.execute("SET NAMES binary")
        for path in files:
            table = path.name.split(".")[1]
            for segment in segments(path):
                if how == "insert":
                    cur.execute(b"INSERT INTO `" + table.encode() + b"` VALUES " + segment)  # type: ignore[arg-type]
                else:
                    statement = f"LOAD DATA LOCAL INFILE 'lightning-batch' INTO TABLE `{table}` {STREAM_FORMAT}"
                    outcome = send_stream(conn, statement.encode(), segment + b",\n")
                    if outcome.warnings:
                        raise RuntimeError(f"{path.name}: {outcome.warnings} warning(s)")
                conn.commit()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    dataset = Dataset(CACHE_DIR / f"sf{args.scale:g}")
    files = sorted((f for t in TABLES for f in dataset.dump_sql_files(t)), key=lambda f: -f.stat().st_size)
    if not files:
        raise SystemExit(f"no dump in {dataset.dump_dir}: run `python -m benchmarks.run --scale {args.scale:g}` first")
    with ScratchServer() as server:
        assert server.process is not None
        checksums = {}
        for _ in range(args.rounds):
            for how in ("insert", "load-data"):
                database = "sql_as_" + how.replace("-", "_")
                server.execute(f"DROP DATABASE IF EXISTS `{database}`")
                create_schema(server, database)
                server.quiesce()
                server_cpu, client_cpu = cpu_seconds(server.process.pid), time.process_time()
                started = time.perf_counter()
                threads = [threading.Thread(target=load, args=(server.port, database, files[k::2], how))
                           for k in (0, 1)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                print(f"{how:9} wall {time.perf_counter() - started:6.2f} s  server CPU "
                      f"{cpu_seconds(server.process.pid) - server_cpu:6.2f} s  client CPU "
                      f"{time.process_time() - client_cpu:5.2f} s", flush=True)
                with server.connect(database) as conn, conn.cursor() as cur:
                    cur.execute("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in TABLES))
                    checksums[how] = [row[1] for row in cur.fetchall()]
        print("same data" if checksums["insert"] == checksums["load-data"] else f"DIFFERENT DATA: {checksums}")


if __name__ == "__main__":
    main()

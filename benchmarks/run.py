"""Benchmark our TiDB-backend engine against the usual ways of loading a dump into MySQL/MariaDB.

Usage, from the repository root: ``.venv/bin/python -m benchmarks.run --scale 0.3 [--keep] [--only NAME...]``
(``make bench``).

One run starts a private MariaDB, makes (or reuses from ``.bench/sf<scale>/``) the TPC-H data as
``.tbl`` files and a mydumper dump, then loads it with every loader into its own fresh database,
one loader at a time, and checks that all of them loaded the same rows. The table is printed and
written to ``.bench/last.md``; logs and task files of the run are in ``.bench/run/``. The exit
status is non-zero when a loader failed or loaded different data, never because a target was
missed: targets are for people to judge on a quiet machine.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
from dataclasses import replace
from pathlib import Path

from benchmarks.loader import FAILED, NOT_AVAILABLE, OK, SQL_INPUT, Loader, Outcome, Target
from benchmarks.measure import LoaderFailed
from benchmarks.ours import our_loaders
from benchmarks.peers import peer_loaders
from benchmarks.plot import draw, save_results
from benchmarks.prerequisites import ensure_tools
from benchmarks.refresh import refresh_loaders, swap_cost
from benchmarks.report import RunInfo, render, summarise
from benchmarks.scaleout import scaleout_loaders
from benchmarks.server import ScratchServer
from benchmarks.tpch_data import CACHE_DIR, Dataset, create_schema, prepare
from benchmarks.verify import find_mismatches, inspect_database


def all_loaders() -> list[Loader]:
    """Every loader in run order: peers' SQL loads, ours, then the CSV peers (``insert-rows`` is slowest)."""
    peers = peer_loaders()
    sql_peers = [p for p in peers if p.input == SQL_INPUT]
    csv_peers = [p for p in peers if p.input != SQL_INPUT]
    return [*sql_peers, *our_loaders(), *refresh_loaders(), *scaleout_loaders(), *csv_peers]


def parse_args(argv: list[str] | None, names: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.3, help="TPC-H scale factor (default 0.3)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the server running and every loaded database in place, for inspection")
    parser.add_argument("--repeat", type=_positive, default=1, metavar="N",
                        help="run every loader N times (interleaved) and report the median time (default 1)")
    parser.add_argument("--plot", type=Path, default=CACHE_DIR / "throughput.png", metavar="PNG",
                        help="where to draw rows/s per loader and scale, from every scale run so far "
                             "(default .bench/throughput.png)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help=f"run only these loaders (shell patterns allowed): {', '.join(names)}")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def select(loaders: list[Loader], patterns: list[str] | None) -> list[Loader]:
    """The loaders ``--only`` names, in run order; a pattern that matches nothing is an error."""
    if not patterns:
        return loaders
    unmatched = [p for p in patterns if not any(fnmatch.fnmatchcase(lo.name, p) for lo in loaders)]
    if unmatched:
        raise SystemExit(f"--only: no loader matches {', '.join(unmatched)}; "
                         f"known: {', '.join(lo.name for lo in loaders)}")
    return [lo for lo in loaders if any(fnmatch.fnmatchcase(lo.name, p) for p in patterns)]


def run_rounds(chosen: list[Loader], server: ScratchServer, dataset: Dataset, work_dir: Path,
               args: argparse.Namespace) -> list[Outcome]:
    """Every attempt of every loader: ``--repeat`` rounds, each running every runnable loader once.

    Rounds are interleaved rather than each loader repeated back to back, so a slow drift in the
    machine's load (other work on a shared host) is spread over all loaders instead of one.
    """
    attempts: list[Outcome] = []
    runnable: list[Loader] = []
    for loader in chosen:
        reason = loader.probe(work_dir)
        if reason:
            print(f"{loader.name}: {NOT_AVAILABLE} ({reason})", flush=True)
            attempts.append(Outcome(loader, NOT_AVAILABLE, detail=reason))
        else:
            runnable.append(loader)
    for round_no in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"-- round {round_no}/{args.repeat}", flush=True)
        failed = {o.loader.name for o in attempts if o.status == FAILED}
        attempts += [run_one(lo, server, dataset, work_dir, args.keep) for lo in runnable if lo.name not in failed]
    return attempts


def run_one(loader: Loader, server: ScratchServer, dataset: Dataset, work_dir: Path, keep: bool) -> Outcome:
    """Load into a fresh database, inspect what arrived, and drop it again (unless ``keep``)."""
    database = "bench_" + loader.name.replace("-", "_")
    _fresh_database(server, database, loader.precreate_schema)
    print(f"{loader.name} ...", end=" ", flush=True)
    try:
        server_cpu = server.cpu_seconds()
        measurement = loader.load(Target(server, dataset, database, work_dir))
        measurement = replace(measurement, server_cpu_s=server.cpu_seconds() - server_cpu)
        print(f"{measurement.seconds:.2f}s (CPU: server {measurement.server_cpu_s:.1f}s, "
              f"loader {measurement.client_cpu_s:.1f}s)", flush=True)
        outcome = Outcome(loader, OK, measurement)
    except LoaderFailed as exc:
        print(f"{FAILED}\n{exc}", flush=True)
        outcome = Outcome(loader, FAILED, detail=str(exc))
    outcome.rows, outcome.checksums = inspect_database(server, database)
    if not keep:
        server.execute(f"DROP DATABASE IF EXISTS `{database}`", f"DROP DATABASE IF EXISTS `ckpt_{database}`")
    return outcome


def _fresh_database(server: ScratchServer, database: str, with_tables: bool) -> None:
    """An empty database (with the TPC-H tables when the loader only moves rows), on a quiet server."""
    server.execute(f"DROP DATABASE IF EXISTS `{database}`")
    if with_tables:
        create_schema(server, database)
    else:
        server.execute(f"CREATE DATABASE `{database}`")
    server.quiesce()


def main(argv: list[str] | None = None) -> int:
    loaders = all_loaders()
    args = parse_args(argv, [lo.name for lo in loaders])
    chosen = select(loaders, args.only)
    ensure_tools()
    work_dir = CACHE_DIR / "run"
    work_dir.mkdir(parents=True, exist_ok=True)
    server = ScratchServer(keep=args.keep)
    with server:
        dataset = prepare(CACHE_DIR, args.scale, server)
        attempts = run_rounds(chosen, server, dataset, work_dir, args)
        version = server.version()
    expected = dataset.expected_rows()
    mismatches = find_mismatches(attempts, expected)
    outcomes = summarise(attempts, chosen)
    info = RunInfo(args.scale, dataset, sum(expected.values()), version, args.repeat)
    text = render(outcomes, info, mismatches) + swap_cost(outcomes)
    print("\n" + text)
    (CACHE_DIR / "last.md").write_text(text)
    save_results(CACHE_DIR, args.scale, info.total_rows, outcomes)
    if draw(CACHE_DIR, args.plot, [lo.name for lo in loaders]):
        print(f"plot: {args.plot}")
    if mismatches:
        print(f"!!! {len(mismatches)} DATA MISMATCH(ES): loaders disagree on what was loaded !!!",
              file=sys.stderr)
    failed = [o.loader.name for o in outcomes if o.status == FAILED]
    if failed:
        print(f"!!! loader(s) failed: {', '.join(failed)} (logs in {work_dir}) !!!", file=sys.stderr)
    return 1 if mismatches or failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Turn the outcomes into the results table and the target checks, as Markdown.

Ratios are speed-ups (the reference's seconds divided by the loader's: above 1.0 is faster).
MB/s divides by the bytes the loader reads: the dump's INSERT files for SQL loaders, the
``.tbl`` files for CSV ones, so SQL and CSV MB/s are not comparable with each other; rows/s is.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.loader import CSV_INPUT, FAILED, OK, Loader, Outcome
from benchmarks.measure import Measurement
from benchmarks.ours import HEADLINE_CSV, HEADLINE_SQL, HEADLINE_SQL_LOAD_DATA, NO_CHECKPOINT_SQL
from benchmarks.peers import REFERENCE_CSV, REFERENCE_RAW, REFERENCE_SQL
from benchmarks.tpch_data import Dataset

MB = 1_000_000
RSS_LIMIT_MB = 100.0


@dataclass(frozen=True)
class RunInfo:
    scale: float
    dataset: Dataset
    total_rows: int
    server_version: str
    repeat: int = 1


def summarise(attempts: list[Outcome], loaders: list[Loader]) -> list[Outcome]:
    """One outcome per loader, in run order: the median time and the highest RSS of its attempts.

    A loader with any failed attempt is reported as failed, with the first failure's message.
    """
    summary = []
    for loader in loaders:
        mine = [a for a in attempts if a.loader.name == loader.name]
        unsuccessful = next((a for a in mine if a.status == FAILED), None) or next(
            (a for a in mine if a.status != OK), None)
        if unsuccessful is not None:
            summary.append(Outcome(loader, unsuccessful.status, detail=unsuccessful.detail))
            continue
        done = [a.measurement for a in mine if a.measurement is not None]
        summary.append(Outcome(loader, OK, Measurement(
            seconds=statistics.median(m.seconds for m in done), peak_rss_mb=max(m.peak_rss_mb for m in done),
            client_cpu_s=statistics.median(m.client_cpu_s for m in done),
            server_cpu_s=statistics.median(m.server_cpu_s for m in done))))
    return summary


def render(outcomes: list[Outcome], info: RunInfo, mismatches: list[str]) -> str:
    """The whole report: context, results table, target checks, and any data mismatch."""
    parts = [_context(info), _table(outcomes, info), _targets(outcomes)]
    if mismatches:
        listed = "\n".join(f"- {m}" for m in mismatches)
        parts.append(f"**DATA MISMATCH** (the run fails):\n\n{listed}\n")
    return "\n".join(parts)


def _context(info: RunInfo) -> str:
    dump_mb = info.dataset.dump_data_bytes() / MB
    tbl_mb = info.dataset.tbl_bytes() / MB
    return (
        f"TPC-H SF {info.scale:g}: {info.total_rows:,} rows; SQL dump {dump_mb:.1f} MB of INSERTs, "
        f".tbl {tbl_mb:.1f} MB.\n"
        f"Server: MariaDB {info.server_version} (private instance). Machine: {_machine()}.\n"
        + (f"Seconds are the median of {info.repeat} interleaved runs per loader.\n" if info.repeat > 1 else "")
    )


def _table(outcomes: list[Outcome], info: RunInfo) -> str:
    reference = _seconds_of(outcomes)
    header = ("| loader | input | seconds | MB/s | rows/s | vs myloader -t 2 | vs LOAD DATA x2 | vs insert_rows "
              "| peak RSS MB | CPU s: server + loader |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    return "\n".join([*header, *(_row(o, info, reference) for o in outcomes)]) + "\n"


def _row(outcome: Outcome, info: RunInfo, reference: Callable[[str], float | None]) -> str:
    name, kind = outcome.loader.name, outcome.loader.input
    m = outcome.measurement
    if outcome.status != OK or m is None:
        return f"| {name} | {kind} | {outcome.status}: {_short(outcome.detail)} | | | | | | | |"
    size = info.dataset.tbl_bytes() if kind == CSV_INPUT else info.dataset.dump_data_bytes()
    vs_sql = _ratio(reference(REFERENCE_SQL), m.seconds)
    vs_raw = _ratio(reference(REFERENCE_RAW), m.seconds)
    vs_csv = _ratio(reference(REFERENCE_CSV), m.seconds) if kind == CSV_INPUT else ""
    return (f"| {name} | {kind} | {m.seconds:.2f} | {size / MB / m.seconds:.1f} | "
            f"{info.total_rows / m.seconds:,.0f} | {vs_sql} | {vs_raw} | {vs_csv} | {m.peak_rss_mb:.0f} | "
            f"{m.server_cpu_s:.1f} + {m.client_cpu_s:.1f} |")


def _targets(outcomes: list[Outcome]) -> str:
    seconds = _seconds_of(outcomes)
    ours_rss = [o.measurement.peak_rss_mb for o in outcomes
                if o.loader.ours and o.status == OK and o.measurement is not None]
    csv = [o for o in outcomes if o.loader.ours and o.loader.input == CSV_INPUT]
    checks = [
        ("SQL (INSERT), checkpoints on, on-duplicate=error >= 1.1x myloader -t 2",
         _speedup_check(seconds(REFERENCE_SQL), seconds(HEADLINE_SQL), 1.1)),
        ("SQL (load-data), checkpoints on, on-duplicate=error >= 1.1x myloader -t 2",
         _speedup_check(seconds(REFERENCE_SQL), seconds(HEADLINE_SQL_LOAD_DATA), 1.1)),
        ("CSV, load-data, checkpoints on >= 0.85x mariadb LOAD DATA in 2 streams",
         _speedup_check(seconds(REFERENCE_RAW), seconds(HEADLINE_CSV), 0.85)),
        ("CSV, load-data, checkpoints on >= 1.2x myloader -t 2",
         _speedup_check(seconds(REFERENCE_SQL), seconds(HEADLINE_CSV), 1.2)),
        ("CSV >= 3x insert_rows",
         _speedup_check(seconds(REFERENCE_CSV), seconds(csv[0].loader.name) if csv else None, 3.0)),
        (f"peak RSS <= {RSS_LIMIT_MB:.0f} MB (ours, highest variant)",
         "n/a" if not ours_rss else _verdict(max(ours_rss) <= RSS_LIMIT_MB, f"{max(ours_rss):.0f} MB")),
        ("checkpoints cost <= 5 %", _cost_check(seconds(HEADLINE_SQL), seconds(NO_CHECKPOINT_SQL), 0.05)),
    ]
    lines = ["| target | result |", "|---|---|", *(f"| {name} | {result} |" for name, result in checks)]
    return "\n".join(lines) + "\n"


def _speedup_check(reference: float | None, ours: float | None, at_least: float) -> str:
    if reference is None or ours is None:
        return "n/a"
    return _verdict(reference / ours >= at_least, f"{reference / ours:.2f}x")


def _cost_check(with_it: float | None, without: float | None, at_most: float) -> str:
    if with_it is None or without is None:
        return "n/a"
    cost = with_it / without - 1
    return _verdict(cost <= at_most, f"{cost:+.1%}")


def _verdict(passed: bool, value: str) -> str:
    return f"{'met' if passed else 'MISSED'} ({value})"


def _seconds_of(outcomes: list[Outcome]) -> Callable[[str], float | None]:
    by_name = {o.loader.name: o.measurement.seconds for o in outcomes if o.status == OK and o.measurement}
    return by_name.get


def _ratio(reference: float | None, seconds: float) -> str:
    return "" if reference is None else f"{reference / seconds:.2f}x"


def _short(detail: str, limit: int = 90) -> str:
    first = detail.strip().splitlines()[0] if detail.strip() else ""
    first = first.replace("|", "/")
    return first if len(first) <= limit else first[: limit - 3] + "..."


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_gb:.0f} GiB RAM, {platform.system()} {platform.release()}"

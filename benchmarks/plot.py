"""The throughput plot: rows per second of every loader at every scale measured so far.

Each run keeps its medians in ``.bench/results/sf<scale>.json`` (the scale's last run replaces the
file: numbers from one run are comparable, a shared machine's numbers from two runs are not), so
runs at SF 0.1, 0.3 and 1 add up to one picture. ``make bench`` draws it to
``.bench/throughput.png``; docs/performance.md shows a copy.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.loader import OK, Outcome

RESULTS = "results"


def save_results(cache_dir: Path, scale: float, total_rows: int, outcomes: list[Outcome]) -> Path:
    """Write this run's medians as the scale's results file; returns its path."""
    path = cache_dir / RESULTS / f"sf{scale:g}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = {}
    for o in outcomes:
        if o.status == OK and o.measurement is not None:
            saved[o.loader.name] = {"input": o.loader.input, "seconds": round(o.measurement.seconds, 3),
                                    "rows_per_s": round(total_rows / o.measurement.seconds),
                                    "peak_rss_mb": round(o.measurement.peak_rss_mb, 1),
                                    "server_cpu_s": round(o.measurement.server_cpu_s, 2),
                                    "client_cpu_s": round(o.measurement.client_cpu_s, 2)}
    path.write_text(json.dumps(saved, indent=1, sort_keys=True) + "\n")
    return path


def draw(cache_dir: Path, out: Path, order: list[str]) -> Path | None:
    """Grouped bars (loaders across, one bar per scale) of rows per wall second and per CPU second (the
    steadier of the two on a shared machine); None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[test]'): no plot")
        return None
    runs = {float(p.stem[2:]): json.loads(p.read_text()) for p in (cache_dir / RESULTS).glob("sf*.json")}
    if not runs:
        return None
    names = [n for n in order if any(n in r for r in runs.values())]
    width = 0.8 / len(runs)
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.9 * len(names)), 8.0), sharex=True)
    panels = (("thousand rows / s of wall time", lambda r: r["rows_per_s"]),
              ("thousand rows / CPU s (server + loader)",
               lambda r: r["rows_per_s"] * r["seconds"] / max(r.get("server_cpu_s", 0) + r.get("client_cpu_s", 0), 1e-9)
               if r.get("server_cpu_s") else 0))
    for ax, (label, value) in zip(axes, panels, strict=True):
        for i, scale in enumerate(sorted(runs)):
            values = [value(runs[scale][n]) / 1000 if n in runs[scale] else 0 for n in names]
            ax.bar([x + i * width for x in range(len(names))], values, width, label=f"SF {scale:g}")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
    axes[-1].set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(names))], names, rotation=30,
                        ha="right")
    axes[0].set_title("TPC-H into MariaDB, 2 cores shared by loader and server (higher is faster)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

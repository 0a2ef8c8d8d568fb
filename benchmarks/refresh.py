"""Refresh mode "swap" in the benchmark: the headline import, loaded into shadow tables and swapped in.

``ours-sql-error-ckpt-swap`` is the headline task file (SQL dump, ``on-duplicate = "error"``, MySQL
checkpoints) plus ``[refresh] mode = "swap"``, into the same kind of fresh database, so its time
against the headline's is what the swap mode costs: shadow tables, the row-count verification and
the one RENAME. The issue's target is at most 10 % over a plain import into empty tables.
"""

from __future__ import annotations

from benchmarks.loader import OK, SQL_INPUT, Loader, Outcome, Target
from benchmarks.measure import Measurement, run_measured
from benchmarks.ours import CLI, HEADLINE_SQL, VARIANTS, probe_cli, task_toml
from benchmarks.prerequisites import venv_script

SWAP_SQL = "ours-sql-error-ckpt-swap"
SWAP_COST_LIMIT = 0.10


def run_swap(target: Target) -> Measurement:
    headline = next(v for v in VARIANTS if v.name == HEADLINE_SQL)
    config = target.work_dir / f"{SWAP_SQL}.toml"
    config.write_text(task_toml(headline, target) + '[refresh]\nmode = "swap"\n')
    return run_measured([venv_script(CLI), "--config", str(config)], target.log_path(SWAP_SQL))


def refresh_loaders() -> list[Loader]:
    return [Loader(SWAP_SQL, SQL_INPUT, precreate_schema=False, load=run_swap, probe=probe_cli, ours=True)]


def swap_cost(outcomes: list[Outcome]) -> str:
    """A line for the report: the swap variant's time over the headline's (medians when repeated)."""
    seconds = {o.loader.name: o.measurement.seconds for o in outcomes if o.status == OK and o.measurement}
    if SWAP_SQL not in seconds or HEADLINE_SQL not in seconds:
        return ""
    cost = seconds[SWAP_SQL] / seconds[HEADLINE_SQL] - 1
    verdict = "met" if cost <= SWAP_COST_LIMIT else "MISSED"
    return (f"\nrefresh mode swap costs <= {SWAP_COST_LIMIT:.0%} over {HEADLINE_SQL}: {verdict} ({cost:+.1%}: "
            f"{seconds[SWAP_SQL]:.2f} s vs {seconds[HEADLINE_SQL]:.2f} s)\n")

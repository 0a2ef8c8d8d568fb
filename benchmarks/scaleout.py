"""Scale-out: one import shared by several ``tidb-lightning-py`` processes against one process doing it alone.

Two loaders with the same total number of writer connections, on the headline case (SQL dump,
``on-duplicate = "error"``, mysql checkpoints):

* ``ours-sql-1x2``: one process, ``region-concurrency = 2``, not shared;
* ``ours-sql-shared-2x1``: two processes started together with one task id, ``region-concurrency = 1``
  each, ``[checkpoint] shared = true``: chunks claimed with leases, steps run once;
* ``ours-sql-1x1`` and ``ours-sql-shared-3x1``: one and three one-writer processes, for the curve.

Their times differ by what sharing costs (claims, lease renewals, the second interpreter and plan)
and by what it gains (two GILs). Each shared process reports in its summary how long its writers
spent claiming chunks; the log line ``claim overhead`` puts that against the wall time. Run alone:
``python -m benchmarks.run --scale 0.05 --repeat 3 --only 'ours-sql-*x*'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from functools import partial

from benchmarks.loader import SQL_INPUT, Loader, Target
from benchmarks.measure import LoaderFailed, Measurement, PeakRssSampler
from benchmarks.ours import CLI, Variant, probe_cli, task_toml
from benchmarks.prerequisites import venv_script

HEADLINE = Variant("ours-sql-error-ckpt", csv=False, on_duplicate="error", checkpoint=True)


def run_processes(processes: int, region_concurrency: int, name: str, target: Target) -> Measurement:
    """Start ``processes`` CLIs on one task (shared when more than one) and wait for all; the wall time counts."""
    extra = f"[lightning]\nregion-concurrency = {region_concurrency}\n"
    toml = task_toml(HEADLINE, target)
    if processes > 1:
        toml = toml.replace("[checkpoint]\n", "[checkpoint]\nshared = true\n", 1)
    config = target.work_dir / f"{name}.toml"
    config.write_text(toml + extra)
    argv = [venv_script(CLI), "--config", str(config), "--task-id", f"bench-{name}"]
    logs = [target.log_path(f"{name}-{i}").open("wb") for i in range(processes)]
    outputs = [target.work_dir / f"{name}-{i}.json" for i in range(processes)]
    started = time.perf_counter()
    children, samplers = [], []
    for log, out in zip(logs, outputs, strict=True):
        with out.open("wb") as stdout:
            children.append(subprocess.Popen(argv, stdout=stdout, stderr=log))
        samplers.append(PeakRssSampler(children[-1].pid))
        samplers[-1].start()
    cpu, codes = 0.0, []
    for child, sampler in zip(children, samplers, strict=True):
        _, status, usage = os.wait4(child.pid, 0)  # each process's own CPU, as run_measured takes it
        child.returncode = os.waitstatus_to_exitcode(status)
        codes.append(child.returncode)
        cpu += usage.ru_utime + usage.ru_stime
        sampler.stop()
    wall = time.perf_counter() - started
    for log in logs:
        log.close()
    if any(codes):
        raise LoaderFailed(f"{name}: exit statuses {codes} (logs {target.work_dir}/{name}-*.log)")
    if processes > 1:
        summaries = [json.loads(out.read_text()) for out in outputs]
        claim = sum(s["worker"]["claim_seconds"] for s in summaries)
        rows = [s["total_rows"] for s in summaries]
        print(f"[{name}: rows per process {rows}, claim overhead {claim:.3f} s of {processes} x {wall:.2f} s"
              f" = {100 * claim / (processes * wall):.2f} %]", end=" ", flush=True)
    # Peak RSS: the largest of the processes (each is bounded alone); CPU: all of them together.
    return Measurement(seconds=wall, peak_rss_mb=max(s.peak_kib for s in samplers) / 1024, client_cpu_s=cpu)


# (processes, region-concurrency per process): the pair the issue compares, and 1 and 3 processes of one
# writer each, to see where the speed-up flattens on the machine at hand.
SHAPES = ((1, 2), (2, 1), (1, 1), (3, 1))


def scaleout_loaders() -> list[Loader]:
    loaders = []
    for processes, concurrency in SHAPES:
        name = f"ours-sql-{'shared-' if processes > 1 else ''}{processes}x{concurrency}"
        loaders.append(Loader(name, SQL_INPUT, precreate_schema=False,
                              load=partial(run_processes, processes, concurrency, name), probe=probe_cli, ours=True))
    return loaders

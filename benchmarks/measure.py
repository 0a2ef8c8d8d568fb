"""Run one loader as a child process and measure its wall time, CPU time and peak memory.

Every loader, ours included, runs as a child of the harness so all are timed the same way.
Its CPU time comes from ``wait4``; on a shared machine CPU seconds are steadier than wall
seconds (other work stretches the wall time of a load, hardly its CPU).
Peak RSS is the child's ``VmHWM`` (its high-water mark) sampled from ``/proc/<pid>/status``
while it runs. ``ru_maxrss`` cannot be used: ``RUSAGE_CHILDREN`` is the maximum over *all*
children so far, and even one child's own figure (``wait4``) starts from the harness's size,
because Linux carries the pre-``exec`` high-water mark over into the new program. ``VmHWM``
belongs to the program's own address space; sampling misses at most the last
:data:`RSS_SAMPLE_S` of growth, and the memory of grandchildren (none of our loaders forks).

A loader written in Python may print one JSON line ``{"seconds": ...}`` as its last line of
output and be run with ``self_timed=True``; that figure then replaces the wall time, so
interpreter start-up and imports (Airflow's take seconds) are not billed to the load itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

STREAM_BLOCK = 1 << 20
RSS_SAMPLE_S = 0.02


class LoaderFailed(RuntimeError):
    """A loader exited non-zero or could not start; the message carries the tail of its log."""


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float
    client_cpu_s: float = 0.0  # user + system CPU of the loader process and the children it waited for
    server_cpu_s: float = 0.0  # user + system CPU of the server during the load (set by the harness)


def run_measured(argv: list[str], log_path: Path, *, stdin_files: Iterable[Path] = (),
                 env: Mapping[str, str] | None = None, self_timed: bool = False) -> Measurement:
    """Run ``argv`` to completion, streaming ``stdin_files`` into it; its output goes to ``log_path``.

    Raises :class:`LoaderFailed` on a non-zero exit.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        try:
            child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                     env=dict(env) if env is not None else None)
        except OSError as exc:
            raise LoaderFailed(f"cannot start {argv[0]}: {exc}") from exc
        sampler = PeakRssSampler(child.pid)
        sampler.start()
        _feed(child, stdin_files)
        _, status, usage = os.wait4(child.pid, 0)  # the child's own CPU, which Popen.wait() does not report
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        sampler.stop()
    output = log_path.read_text(errors="replace")
    if child.returncode != 0:
        tail = output.strip().splitlines()[-15:] or ["(no output)"]
        raise LoaderFailed(f"{Path(argv[0]).name} exited with {child.returncode}: {tail[-1]} (log {log_path})\n"
                           + "\n".join(tail))
    seconds = _self_reported_seconds(output) if self_timed else None
    return Measurement(seconds=seconds or wall, peak_rss_mb=sampler.peak_kib / 1024,
                       client_cpu_s=usage.ru_utime + usage.ru_stime)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRssSampler(threading.Thread):
    """Keeps the highest ``VmHWM`` seen for one process until :meth:`stop` (or the process is gone)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status_path = Path(f"/proc/{pid}/status")
        self.peak_kib = 0
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            self.peak_kib = max(self.peak_kib, _vm_hwm_kib(self.status_path))
            self._stopped.wait(RSS_SAMPLE_S)

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def _vm_hwm_kib(status_path: Path) -> int:
    """``VmHWM`` in KiB, or 0 when the process has exited (a zombie has no memory lines)."""
    try:
        for line in status_path.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _feed(child: subprocess.Popen[bytes], files: Iterable[Path]) -> None:
    """Stream files into the child's stdin one after another, then close it (EOF ends the load)."""
    assert child.stdin is not None
    try:
        for path in files:
            with path.open("rb") as source:
                shutil.copyfileobj(source, child.stdin, STREAM_BLOCK)
    except BrokenPipeError:
        pass  # the child died early; its exit status and log tell why
    finally:
        try:
            child.stdin.close()
        except BrokenPipeError:
            pass


def _self_reported_seconds(output: str) -> float | None:
    lines = output.rstrip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        return None
    try:
        return float(json.loads(lines[-1])["seconds"])
    except (ValueError, KeyError, TypeError):
        return None

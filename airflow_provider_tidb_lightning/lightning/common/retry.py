"""Backoff for transient server errors (lost connection, deadlock, lock wait, TiDB busy).

A retry is never silent: each one is logged as a warning (which try, the server's error, how long
the wait), and giving up says how long it tried, so an operator can tell a flapping server from a
slow one, and a retried import from a smooth one, from the log alone.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from .dberrors import describe

log = logging.getLogger("airflow_provider_tidb_lightning.retry")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``first_delay`` doubling up to ``max_delay``, ``attempts`` tries in all.

    The defaults ride out a server restart of about twenty seconds, which is what an upgrade or a
    failover of a single TiDB / MySQL node costs.
    """

    attempts: int = 12
    first_delay: float = 0.1
    max_delay: float = 4.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts from 1)."""
        return min(self.first_delay * 2.0 ** (attempt - 1), self.max_delay)

    def sleep(self, attempt: int, cancel: threading.Event | None) -> None:
        """Wait before the next try; returns early when ``cancel`` is set."""
        if cancel is None:
            threading.Event().wait(self.delay(attempt))
        else:
            cancel.wait(self.delay(attempt))


@dataclass
class RetryLog:
    """One operation's tries under a :class:`RetryPolicy`: logs each retry and, at the end, the time spent.

    ``what`` names the operation in the log (``writing tpch.orders.sql at byte offset 4096``).
    """

    policy: RetryPolicy
    what: str
    logger: logging.Logger = log
    started: float = field(default_factory=time.monotonic)

    def retry(self, attempt: int, exc: BaseException, cancel: threading.Event | None = None) -> None:
        """Log try ``attempt``'s failure as a warning and wait before the next try."""
        self.logger.warning("%s failed (attempt %d of %d): %s; retrying in %.1f s", self.what, attempt,
                            self.policy.attempts, describe(exc), self.policy.delay(attempt))
        self.policy.sleep(attempt, cancel)

    def gave_up(self, attempt: int) -> str:
        """The words for the error raised after the last try: how many tries over how long."""
        return f"gave up after {attempt} tries over {time.monotonic() - self.started:.1f} s"

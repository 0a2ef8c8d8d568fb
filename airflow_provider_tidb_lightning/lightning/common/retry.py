"""Backoff for transient server errors (lost connection, deadlock, lock wait, TiDB busy)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


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

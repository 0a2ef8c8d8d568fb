"""The benchmark's server: a throw-away MariaDB with bulk-load settings, the same for every loader.

Every loader must meet the same server with the same settings, and none may touch the system
MariaDB on 3306 (other work, other data, other tuning). The server itself is the project's one
throw-away MariaDB (``tests/support/throwaway_mariadb.py``); the settings here are the ones a bulk load is
usually given: a large buffer pool, relaxed redo-log flushing and no binary log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from benchmarks.measure import process_cpu_seconds
from tests.support.throwaway_mariadb import ThrowawayMariaDB

SERVER_OPTIONS: tuple[str, ...] = (
    "--innodb-buffer-pool-size=1G",
    "--innodb-flush-log-at-trx-commit=2",
    "--local-infile=ON",
    "--collation-server=utf8mb4_general_ci",
)
QUIESCE_TIMEOUT_S = 120.0
QUIET_DIRTY_PAGES = 200


@dataclass
class ScratchServer(ThrowawayMariaDB):
    """The benchmark's server; ``keep=True`` leaves it running after the run for inspection."""

    options: tuple[str, ...] = SERVER_OPTIONS
    keep: bool = False

    def stop(self, remove: bool = True) -> None:
        if self.keep and self.process is not None:
            print(f"--keep: server left running on {self.host}:{self.port} (pid {self.process.pid}), "
                  f"files in {self.workdir}; stop it with: kill {self.process.pid}")
            return
        super().stop(remove)

    def client_args(self) -> list[str]:
        """Connection flags shared by the ``mariadb``, ``mydumper`` and ``myloader`` command lines."""
        return ["-h", self.host, "-P", str(self.port), "-u", self.user]

    def execute(self, *statements: str) -> None:
        """Run a few administrative statements on a short-lived connection."""
        with self.connect() as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)

    def cpu_seconds(self) -> float:
        """CPU the server process has used so far."""
        assert self.process is not None
        return process_cpu_seconds(self.process.pid)

    def version(self) -> str:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            return str(cur.fetchone()[0])

    def quiesce(self) -> None:
        """Wait for InnoDB to flush most dirty pages, so one loader's write-back is not billed to the next.

        With a 1 GB buffer pool and relaxed flushing, a load leaves hundreds of MB dirty; without this
        wait the loader that runs next pays for its predecessor's page flushing.
        """
        deadline = time.monotonic() + QUIESCE_TIMEOUT_S
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = 0")
            try:
                while time.monotonic() < deadline:
                    cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
                    row = cur.fetchone()
                    if row is None or int(row[1]) <= QUIET_DIRTY_PAGES:
                        return
                    time.sleep(0.5)
            finally:
                cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT")

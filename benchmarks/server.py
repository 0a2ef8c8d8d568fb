"""A private, throw-away MariaDB server for one benchmark run.

Every loader must meet the same server with the same settings, and none may touch the system
MariaDB on 3306 (other work, other data, other tuning). So the run initialises its own data
directory with ``mariadb-install-db``, starts ``mariadbd`` on a free 127.0.0.1 port and stops it
at the end. The settings are the ones a bulk load is usually given: a large buffer pool, relaxed
redo-log flushing and no binary log, applied alike to every loader.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
from prerequisites import server_program

SERVER_OPTIONS: tuple[str, ...] = (
    "--innodb-buffer-pool-size=1G",
    "--innodb-flush-log-at-trx-commit=2",
    "--skip-log-bin",
    "--max-allowed-packet=64M",
    "--local-infile=ON",
    "--bind-address=127.0.0.1",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
)
STARTUP_TIMEOUT_S = 60.0
QUIESCE_TIMEOUT_S = 120.0
QUIET_DIRTY_PAGES = 200


@dataclass
class ScratchServer:
    """One ``mariadbd`` in its own temporary directory; ``start()`` then ``stop()`` (or ``with``)."""

    keep: bool = False
    host: str = "127.0.0.1"
    user: str = "root"
    port: int = 0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-mariadb-")))
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.workdir / "mysqld.sock"

    @property
    def log_path(self) -> Path:
        return self.workdir / "error.log"

    def start(self) -> ScratchServer:
        """Initialise the data directory and start the server; returns once it accepts connections."""
        datadir = self.workdir / "data"
        _run_quietly([server_program("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}",
                      "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"])
        self.port = free_port(self.host)
        self.process = subprocess.Popen(
            [server_program("mariadbd"), "--no-defaults", "--user=root", f"--datadir={datadir}",
             f"--port={self.port}", f"--socket={self.socket_path}",
             f"--pid-file={self.workdir / 'mysqld.pid'}", f"--log-error={self.log_path}",
             f"--tmpdir={self.workdir}", *SERVER_OPTIONS],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self._wait_until_ready()
        return self

    def stop(self) -> None:
        """Shut the server down and remove its files, unless the run asked to keep them."""
        if self.process is None:
            return
        if self.keep:
            print(f"--keep: server left running on {self.host}:{self.port} (pid {self.process.pid}), "
                  f"files in {self.workdir}; stop it with: kill {self.process.pid}")
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ScratchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connect(self, database: str | None = None, **kwargs: object) -> pymysql.connections.Connection:
        """A PyMySQL connection over TCP, as the loaders use (not the socket)."""
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password="",
                               database=database, autocommit=True, **kwargs)

    def client_args(self) -> list[str]:
        """Connection flags shared by the ``mariadb``, ``mydumper`` and ``myloader`` command lines."""
        return ["-h", self.host, "-P", str(self.port), "-u", self.user]

    def execute(self, *statements: str) -> None:
        """Run a few administrative statements on a short-lived connection."""
        with self.connect() as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)

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

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}; see {self.log_path}:\n"
                                   + _tail(self.log_path))
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.2)
        raise RuntimeError(f"mariadbd did not accept connections within {STARTUP_TIMEOUT_S:.0f}s; "
                           f"see {self.log_path}")


def free_port(host: str) -> int:
    """A TCP port nothing listens on right now (the kernel picks it; a race is possible but harmless here)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _run_quietly(argv: list[str]) -> None:
    """Run a setup command, showing its output only if it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""

"""A private, throw-away MariaDB server: the one server the tests, the demo and the benchmarks start.

It initialises a data directory with ``mariadb-install-db`` (Debian's ``mariadb-server``
binaries), starts ``mariadbd`` on a free 127.0.0.1 port with no binary log and relaxed flushing,
waits until root (no password) can log in, and removes everything when stopped. Callers add their
own server options (the benchmark a 1 GB buffer pool, the tests TiDB's default collation).

As a command (for ``scripts/demo.sh``, which must not depend on pytest), from the repository root:
``python -m tests.support.throwaway_mariadb start DIR`` starts a server in DIR in the background and
prints its port; ``... stop DIR`` stops it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin")
BASE_OPTIONS: tuple[str, ...] = (
    "--bind-address=127.0.0.1",
    "--skip-log-bin",
    "--skip-name-resolve",
    "--max-allowed-packet=64M",
    "--character-set-server=utf8mb4",
)
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
PORT_TRIES = 3


class ServerUnavailable(RuntimeError):
    """The MariaDB binaries are missing, or the server would not start (the message says which)."""


def find_program(name: str) -> str | None:
    """``mariadbd`` and ``mariadb-install-db`` live in sbin directories that are not always on PATH."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN_DIRS))


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it; another process may still take it before
    the server binds it: :meth:`ThrowawayMariaDB.start` then tries another)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ThrowawayMariaDB:
    """One ``mariadbd`` in its own directory: ``start()`` then ``stop()``, or use it with ``with``."""

    options: tuple[str, ...] = ()
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="throwaway-mariadb-")))
    detach: bool = False  # start in a new session, so the server outlives this process (the demo)
    host: str = "127.0.0.1"
    user: str = "root"
    password: str = ""  # root logs in without one
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "error.log"

    @property
    def socket_path(self) -> Path:
        return self.workdir / "mariadb.sock"

    def start(self) -> ThrowawayMariaDB:
        """Initialise the data directory and start the server; returns once root can log in."""
        mariadbd, install_db = find_program("mariadbd"), find_program("mariadb-install-db")
        if not mariadbd or not install_db:
            raise ServerUnavailable("MariaDB server binaries not found: install Debian's mariadb-server "
                                    "(`make test` and `make demo` do so when run as root)")
        datadir = self.workdir / "data"
        # mariadbd refuses to run as root unless told to; as any other user the flag is not allowed.
        as_root = ["--user=root"] if os.geteuid() == 0 else []
        setup = subprocess.run(
            [install_db, "--no-defaults", f"--datadir={datadir}", "--auth-root-authentication-method=normal",
             "--skip-test-db", "--skip-name-resolve", *as_root],
            capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"},
        )
        if setup.returncode != 0:
            raise ServerUnavailable(f"mariadb-install-db failed ({setup.returncode}):\n{setup.stdout}\n{setup.stderr}")
        for _ in range(PORT_TRIES):
            self.port = free_port()
            self.log_path.unlink(missing_ok=True)  # what the log says is about this try
            self.process = subprocess.Popen(
                [mariadbd, "--no-defaults", f"--datadir={datadir}", f"--socket={self.socket_path}",
                 f"--pid-file={self.workdir / 'mariadb.pid'}", f"--log-error={self.log_path}",
                 f"--tmpdir={self.workdir}", f"--port={self.port}", *as_root, *BASE_OPTIONS, *self.options],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=self.detach,
            )
            if self._wait_until_ready():
                return self
        raise ServerUnavailable(f"MariaDB found its port taken {PORT_TRIES} times:\n{self.log_tail()}")

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.Connection:
        """An autocommit PyMySQL connection over TCP, as the loaders use."""
        options: dict[str, Any] = {"charset": "utf8mb4", "autocommit": True, **kwargs}
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               database=database, **options)

    def stop(self, remove: bool = True) -> None:
        """Shut the server down (SIGTERM, then SIGKILL after a minute) and remove its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ThrowawayMariaDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"

    def _wait_until_ready(self) -> bool:
        """True once root can log in to this server; False when it exited because another process had taken
        its port between :func:`free_port` and its bind."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._answers():
            assert self.process is not None
            if self.process.poll() is not None and "Address already in use" in self.log_tail():
                return False
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(remove=False)
                raise ServerUnavailable(f"MariaDB did not start on port {self.port}:\n{self.log_tail()}")
            time.sleep(0.1)
        return True

    def _answers(self) -> bool:
        """Root logs in on the port, and the server there is this one (not one that took the port first)."""
        try:
            # A read timeout too: a process that took the port may accept the connection and never answer.
            with self.connect(connect_timeout=2, read_timeout=2) as conn, conn.cursor() as cur:
                cur.execute("SELECT @@socket")
                return bool(cur.fetchone()[0] == str(self.socket_path))
        except pymysql.err.OperationalError:
            return False


# --- command line, for scripts/demo.sh ------------------------------------------------------------------
_DEMO_OPTIONS = ("--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0", "--collation-server=utf8mb4_bin",
                 "--local-infile=1")  # the demo's TPC-H rows are loaded with LOAD DATA LOCAL INFILE


def _start(workdir: Path) -> int:
    server = ThrowawayMariaDB(_DEMO_OPTIONS, workdir, detach=True).start()
    assert server.process is not None
    (workdir / "server.pid").write_text(str(server.process.pid))
    return server.port


def _stop(workdir: Path) -> None:
    pid_file = workdir / "server.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError once the server has exited
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("workdir", type=Path)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        if args.action == "start":
            print(_start(args.workdir))
        else:
            _stop(args.workdir)
    except ServerUnavailable as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()

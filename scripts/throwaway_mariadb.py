"""Start or stop a private MariaDB server in a directory, for the demo (``scripts/demo.sh``).

``start DIR`` initialises a data directory under DIR, starts ``mariadbd`` on a free local port
as a background process, waits until it accepts logins (user root, no password) and prints the
port. ``stop DIR`` shuts it down. The server is built for throwing away: no binary log, relaxed
flushing, bound to 127.0.0.1 only. The test suite starts the same kind of server in
tests/conftest.py; this script exists because a demo must not depend on pytest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql

_SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/local/mysql/bin")
_OPTIONS = (
    "--skip-log-bin",
    "--skip-name-resolve",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--max-allowed-packet=64M",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_bin",
)
_START_TIMEOUT = 60.0


def _program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SBIN_DIRS))
    if not found:
        sys.exit(f"{name} not found: install mariadb-server (make demo does so when run as root)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(workdir: Path) -> int:
    """Initialise and start the server; return its port once it accepts logins."""
    datadir = workdir / "data"
    as_root = ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses root unless told
    subprocess.run(
        [_program("mariadb-install-db"), "--no-defaults", f"--datadir={datadir}",
         "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve", *as_root],
        check=True, capture_output=True,
    )
    port = _free_port()
    log = workdir / "error.log"
    process = subprocess.Popen(
        [_program("mariadbd"), "--no-defaults", f"--datadir={datadir}", f"--socket={workdir / 'mariadb.sock'}",
         f"--pid-file={workdir / 'mariadb.pid'}", f"--log-error={log}", f"--port={port}",
         "--bind-address=127.0.0.1", *as_root, *_OPTIONS],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    (workdir / "server.pid").write_text(str(process.pid))
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        try:
            pymysql.connect(host="127.0.0.1", port=port, user="root", password="", connect_timeout=2).close()
            return port
        except pymysql.err.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no error log)"
                sys.exit(f"MariaDB did not start on port {port}:\n{tail}")
            time.sleep(0.2)


def stop(workdir: Path) -> None:
    """Stop the server started in ``workdir`` (SIGTERM, then SIGKILL after a minute)."""
    pid_file = workdir / "server.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
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
    if args.action == "start":
        print(start(args.workdir))
    else:
        stop(args.workdir)


if __name__ == "__main__":
    main()

"""Install and locate the outside programs the benchmark drives.

``make bench`` runs from a fresh clone on a fresh machine, so the harness installs what is
missing itself: ``tpchgen-cli`` into the running virtualenv (a test dependency, so normally
there already) and, when running as root, Debian's ``mydumper`` (which ships ``myloader``) and
``mariadb-client``. The server binaries (``mariadbd``, ``mariadb-install-db``) come with
``mariadb-server`` and are checked, not installed: installing a server package starts a system
service, which the benchmark deliberately stays away from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

APT_PACKAGES: dict[str, str] = {"mydumper": "mydumper", "myloader": "mydumper", "mariadb": "mariadb-client"}
SERVER_PROGRAMS: tuple[str, ...] = ("mariadbd", "mariadb-install-db")


def venv_script(name: str) -> str:
    """The path of a console script installed next to this interpreter, else the bare name for ``PATH``.

    ``.venv/bin/python -m benchmarks.run`` does not put ``.venv/bin`` on ``PATH``.
    """
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.is_file() else name


def server_program(name: str) -> str:
    """A server binary by name, also found in ``/usr/sbin`` when that is not on a non-root ``PATH``."""
    if shutil.which(name) is None and Path("/usr/sbin", name).is_file():
        return str(Path("/usr/sbin", name))
    return name


def ensure_tools() -> None:
    """Install missing tools where allowed; raise naming what is still missing and how to get it."""
    if shutil.which(venv_script("tpchgen-cli")) is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "tpchgen-cli"], check=True)
    missing_packages = sorted({pkg for prog, pkg in APT_PACKAGES.items() if shutil.which(prog) is None})
    if missing_packages and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing_packages], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    still_missing = [p for p in APT_PACKAGES if shutil.which(p) is None]
    still_missing += [p for p in SERVER_PROGRAMS if shutil.which(server_program(p)) is None]
    if still_missing:
        raise RuntimeError(f"missing programs: {', '.join(still_missing)}; install Debian's mydumper, "
                           "mariadb-client and mariadb-server (the benchmark starts its own private server)")

"""What kind of server the target is: TiDB, MySQL or MariaDB, and which version.

The TiDB backend writes plain SQL, so any of the three can be a target, but they differ in the
details later stages adapt to (TiDB-only session variables and status port, MariaDB's
``sql_mode`` names, MySQL 8's removed modes). Detection runs one query on an open DB-API
connection; parsing is a pure function so it is tested without a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .cursor import Connection

Flavour = Literal["tidb", "mysql", "mariadb"]

_DISPLAY_NAMES: dict[str, str] = {"tidb": "TiDB", "mysql": "MySQL", "mariadb": "MariaDB"}
# TiDB reports a MySQL-compatible version first, then its own: "8.0.11-TiDB-v7.5.0".
_TIDB_VERSION = re.compile(r"-TiDB-v?(\d+(?:\.\d+)*)", re.IGNORECASE)
_LEADING_VERSION = re.compile(r"(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class ServerInfo:
    """The target server's product and version.

    ``version`` is the product's own version (TiDB's ``7.5.0``, not the MySQL-compatible
    ``8.0.11`` it also reports); ``raw`` is ``VERSION()`` as the server returned it.
    """

    flavour: Flavour
    version: str
    version_tuple: tuple[int, ...]
    raw: str = ""

    def __str__(self) -> str:
        return f"{_DISPLAY_NAMES[self.flavour]} {self.version}"


def detect_server(conn: Connection) -> ServerInfo:
    """Ask an open DB-API connection (PyMySQL or any MySQL-protocol driver) what server it talks to."""
    cur = conn.cursor()
    try:
        cur.execute("SELECT VERSION(), @@version_comment")
        row = cur.fetchone()
    finally:
        cur.close()
    if row is None:  # a server answers a SELECT without FROM with one row; anything else is not MySQL
        raise ValueError("the server returned no row for SELECT VERSION()")
    version, comment = row
    return parse_server_version(_text(version), _text(comment))


def parse_server_version(version: str, comment: str = "") -> ServerInfo:
    """Classify a ``VERSION()`` / ``@@version_comment`` pair.

    >>> str(parse_server_version("8.0.11-TiDB-v7.5.0"))
    'TiDB 7.5.0'
    >>> parse_server_version("10.11.6-MariaDB-0+deb12u1").version_tuple
    (10, 11, 6)
    """
    tidb = _TIDB_VERSION.search(version)
    if tidb:
        return _info("tidb", tidb.group(1), version)
    if "tidb" in comment.lower():
        # A TiDB built with a custom version string still says so in its comment.
        return _info("tidb", _leading_version(version), version)
    if "mariadb" in version.lower() or "mariadb" in comment.lower():
        return _info("mariadb", _leading_version(version), version)
    return _info("mysql", _leading_version(version), version)


def _info(flavour: Flavour, version: str, raw: str) -> ServerInfo:
    return ServerInfo(flavour, version, tuple(int(part) for part in version.split(".") if part), raw)


def _leading_version(text: str) -> str:
    match = _LEADING_VERSION.match(text.strip())
    return match.group(1) if match else ""


def _text(value: Any) -> str:
    """Server variables come back as ``bytes`` under some charsets (``SET NAMES binary``)."""
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)

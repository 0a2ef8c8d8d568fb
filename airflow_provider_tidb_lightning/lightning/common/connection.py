"""Open PyMySQL connections to the target from a :class:`~.config.model.TidbSection`.

The one place that turns connection settings into PyMySQL arguments, shared by the engine's
writers, the checkpoint store and the Airflow hook, so TLS and session variables behave the
same everywhere. The password is passed to PyMySQL and nowhere else.
"""

from __future__ import annotations

from typing import Any

import pymysql
import pymysql.cursors

from ..config.model import TidbSection, TLSMode
from ..errors import ConfigError
from .cursor import Cursor

# PyMySQL falls back to a plain connection when the server offers no TLS; these modes must not.
REQUIRED_TLS_MODES = frozenset({TLSMode.SKIP_VERIFY, TLSMode.CLUSTER})


def connect_args(tidb: TidbSection, *, database: str | None = None, autocommit: bool = True,
                 local_infile: bool = False) -> dict[str, Any]:
    """PyMySQL ``connect()`` keyword arguments for ``tidb`` (TLS, timeouts, packet size, charset)."""
    args: dict[str, Any] = {
        "host": tidb.host,
        "port": int(tidb.port),
        "user": tidb.user,
        "password": tidb.password or "",
        "charset": tidb.charset or "utf8mb4",
        "connect_timeout": tidb.connect_timeout,
        "autocommit": autocommit,
        "max_allowed_packet": int(tidb.max_allowed_packet),
        "local_infile": local_infile,
    }
    if tidb.read_timeout:
        args["read_timeout"] = tidb.read_timeout
    if database:
        args["database"] = database
    args.update(tls_args(tidb))
    return args


def tls_args(tidb: TidbSection) -> dict[str, Any]:
    """Translate tidb-lightning's ``tls`` mode and certificate paths into PyMySQL's ``ssl_*`` arguments."""
    mode = _tls_mode(tidb)
    if mode is TLSMode.FALSE or (mode is TLSMode.DEFAULT and not (tidb.ca_path or tidb.cert_path or tidb.key_path)):
        return {}
    args: dict[str, Any] = {}
    if tidb.ca_path:
        args["ssl_ca"] = tidb.ca_path
    if tidb.cert_path:
        args["ssl_cert"] = tidb.cert_path
    if tidb.key_path:
        args["ssl_key"] = tidb.key_path
    # "cluster" verifies the certificate chain (with the system CAs when no ca-path is given) and the
    # host name; a CA given with an empty mode verifies the chain only; the other modes encrypt only.
    verify = mode is TLSMode.CLUSTER or (mode is TLSMode.DEFAULT and bool(tidb.ca_path))
    args["ssl_verify_cert"] = verify
    args["ssl_verify_identity"] = mode is TLSMode.CLUSTER
    if not args.get("ssl_ca") and not verify:
        # PyMySQL only turns TLS on when some ssl_* value is set; an empty CA with no verification
        # is the "encrypt but do not verify" mode of tidb-lightning's skip-verify / preferred.
        args["ssl"] = {"check_hostname": False}
    return args


def _tls_mode(tidb: TidbSection) -> TLSMode:
    """The section's TLS mode; a TidbSection built in code (not by the loader) may hold any string."""
    try:
        return TLSMode((tidb.tls or "").lower())
    except ValueError:
        expected = ", ".join(repr(m.value) for m in TLSMode)
        raise ConfigError(f"unknown TLS mode {tidb.tls!r}; expected one of {expected}", key="tidb.tls") from None


def connect(
    tidb: TidbSection, *, database: str | None = None, autocommit: bool = True, local_infile: bool = False
) -> pymysql.Connection[pymysql.cursors.Cursor]:
    """Open a connection and apply ``sql_mode`` and the configured session variables.

    ``local_infile`` announces ``LOAD DATA LOCAL`` in the handshake, for the writers of
    ``logical-import-method = "load-data"``; PyMySQL's own handler, which would open any file the
    server names, stays off: the engine answers the server only with the batch it sent the
    statement for (``backend/tidb/load_data.py``).
    """
    conn = pymysql.connect(**connect_args(tidb, database=database, autocommit=autocommit, local_infile=local_infile))
    conn._local_infile = False  # type: ignore[attr-defined]  # handshake done: never read a file the server names
    try:
        with conn.cursor() as cur:
            if _tls_mode(tidb) in REQUIRED_TLS_MODES:
                _require_tls(cur, tidb)
            if tidb.sql_mode is not None:
                cur.execute("SET SESSION sql_mode = %s", (tidb.sql_mode,))
            for name, value in tidb.session_vars.items():
                cur.execute(f"SET {quote_variable(name)} = %s", (value,))
    except Exception:
        conn.close()
        raise
    return conn


def _require_tls(cur: Cursor, tidb: TidbSection) -> None:
    cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    row = cur.fetchone()
    if not row or not row[1]:
        raise ConfigError(f"tls = {tidb.tls!r} asks for an encrypted connection, but the server at "
                          f"{tidb.host}:{tidb.port} did not negotiate TLS", key="tidb.tls")


def quote_variable(name: str) -> str:
    """Quote a session variable name taken from configuration, refusing anything but a plain name."""
    if not name.replace("_", "").replace(".", "").isalnum():
        raise ConfigError(f"invalid session variable name {name!r}", key="tidb.session-vars")
    return "@@SESSION." + name

"""Sort server errors into what the writer does about them.

* ``transient``: the statement may succeed if sent again (connection lost, lock wait timeout,
  deadlock, TiDB write conflict or server busy): retry with backoff, on a new connection if needed.
* ``conflict``: a duplicate key; counted against ``[conflict]`` and recorded as a conflict.
* ``type`` / ``syntax``: the row itself is bad for this table; the batch is retried row by row and
  each bad row is recorded against ``[lightning] max-error``.
* ``fatal``: anything else (no privilege, unknown table...): the import stops.
"""

from __future__ import annotations

import pymysql

TRANSIENT_CODES = frozenset({
    1040,  # too many connections
    1053,  # server shutdown in progress
    1205,  # lock wait timeout
    1213,  # deadlock
    1317,  # query interrupted
    1927,  # MariaDB: connection killed
    2003, 2006, 2013, 2055,  # cannot connect / server gone / lost connection
    8002, 8022, 8027, 8028,  # TiDB: select-for-update conflict, txn retry, schema changed
    9001, 9002, 9003, 9004, 9005, 9006, 9007,  # TiDB: PD/TiKV timeouts, server busy, write conflict
})
CONFLICT_CODES = frozenset({1062, 1586})
SYNTAX_CODES = frozenset({1064, 1149})
TYPE_CODES = frozenset({
    1048, 1054, 1136, 1138, 1263, 1264, 1265, 1292, 1364, 1366, 1367, 1406, 1411, 1416, 1452, 1216,
    1690, 3140, 3819, 4025, 4078, 1918, 1300, 1677, 3156,
})


def error_code(exc: BaseException) -> int | None:
    """The server (or client) error number of a PyMySQL error, if it has one."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def classify(exc: BaseException) -> str:
    """One of ``transient``, ``conflict``, ``type``, ``syntax``, ``fatal``."""
    if isinstance(exc, (ConnectionError, TimeoutError, pymysql.err.InterfaceError)):
        return "transient"
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        return "transient"
    if code in CONFLICT_CODES:
        return "conflict"
    if code in SYNTAX_CODES:
        return "syntax"
    if code in TYPE_CODES:
        return "type"
    if isinstance(exc, pymysql.err.OperationalError) and code is not None and code >= 2000:
        return "transient"  # client-side connection trouble
    return "fatal"


def describe(exc: BaseException) -> str:
    """The server's message as ``Error 1062: Duplicate entry ...`` without Python noise."""
    code = error_code(exc)
    args = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    return f"Error {code}: {text}" if code is not None else f"{type(exc).__name__}: {text}"

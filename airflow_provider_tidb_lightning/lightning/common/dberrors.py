"""Sort server errors into what the writer does about them.

* ``transient``: the statement may succeed if sent again (connection lost, lock wait timeout,
  deadlock, TiDB write conflict or server busy): retry with backoff, on a new connection if needed.
* ``conflict``: a duplicate key; counted against ``[conflict]`` and recorded as a conflict.
* ``type`` / ``syntax``: the row itself is bad for this table; the batch is retried row by row and
  each bad row is recorded against ``[lightning] max-error``.
* ``fatal``: anything else (no privilege, unknown table...): the import stops.
"""

from __future__ import annotations

from enum import StrEnum

import pymysql


class ErrorKind(StrEnum):
    """What a server error means for the row or batch that caused it (see the module docstring).

    ``conflict``, ``type`` and ``syntax`` are also the names of the error budget's kinds.
    """

    TRANSIENT = "transient"
    CONFLICT = "conflict"
    TYPE = "type"
    SYNTAX = "syntax"
    FATAL = "fatal"


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


def classify(exc: BaseException) -> ErrorKind:
    """Sort a PyMySQL (or socket) error into an :class:`ErrorKind`."""
    if isinstance(exc, (ConnectionError, TimeoutError, pymysql.err.InterfaceError)):
        return ErrorKind.TRANSIENT
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        return ErrorKind.TRANSIENT
    if code in CONFLICT_CODES:
        return ErrorKind.CONFLICT
    if code in SYNTAX_CODES:
        return ErrorKind.SYNTAX
    if code in TYPE_CODES:
        return ErrorKind.TYPE
    if isinstance(exc, pymysql.err.OperationalError) and code is not None and code >= 2000:
        return ErrorKind.TRANSIENT  # client-side connection trouble
    return ErrorKind.FATAL


def describe(exc: BaseException) -> str:
    """The server's message as ``Error 1062: Duplicate entry ...`` without Python noise."""
    code = error_code(exc)
    args: tuple[object, ...] = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    return f"Error {code}: {text}" if code is not None else f"{type(exc).__name__}: {text}"

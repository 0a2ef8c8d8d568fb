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


# SQLSTATE of the server errors the engine meets, to print them as tidb-lightning (Go's MySQL driver)
# does. PyMySQL reads the SQLSTATE off the wire but drops it, so it is looked up here; a server error
# not listed gets the generic HY000, which is what the server sends for most errors.
_SQLSTATES = {
    1040: "08004", 1044: "42000", 1045: "28000", 1046: "3D000", 1049: "42000", 1050: "42S01", 1051: "42S02",
    1053: "08S01", 1054: "42S22", 1062: "23000", 1064: "42000", 1136: "21S01", 1138: "22004", 1142: "42000",
    1146: "42S02", 1149: "42000", 1048: "23000", 1213: "40001", 1216: "23000", 1263: "22004", 1264: "22003",
    1265: "01000", 1292: "22007", 1317: "70100", 1367: "22007", 1406: "22001", 1416: "22003", 1452: "23000",
    1586: "23000", 1690: "22003", 1918: "22007", 1927: "70100", 3140: "22032", 3156: "22018", 4025: "23000",
}


def sqlstate(code: int) -> str | None:
    """The SQLSTATE of server error ``code``; None for client-side errors (2000-2999), which have none."""
    if 2000 <= code < 3000:
        return None
    return _SQLSTATES.get(code, "HY000")


def describe(exc: BaseException) -> str:
    """The server's message as tidb-lightning prints it, ``Error 1062 (23000): Duplicate entry ...``,
    without Python noise (users grep logs and records for this form)."""
    code = error_code(exc)
    args: tuple[object, ...] = getattr(exc, "args", ())
    text = str(args[1]) if len(args) > 1 else str(exc)
    if code is None:
        return f"{type(exc).__name__}: {text}"
    state = sqlstate(code)
    return f"Error {code} ({state}): {text}" if state else f"Error {code}: {text}"

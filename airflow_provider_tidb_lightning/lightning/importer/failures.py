"""Every way a run can fail, said in one line with the exit status the command line documents.

An operator reading a log at night needs what failed, where, and what to do, not a Python
traceback. The engine's own errors already read that way; what reaches the command line raw is
the outside world: a server that cannot be reached or refuses the login, a user without rights on
the checkpoint schema, a disk that is full. This module turns those into the same kind of line,
built from the host, port and user only, and masks the password should any text ever carry it.

Exit statuses (docs/importing.md, "When it fails"): 2 for a configuration mistake, 1 for any
other failure, 128 + the signal's number for a run stopped by SIGINT (130) or SIGTERM (143).
"""

from __future__ import annotations

import errno
import logging
import re
import socket
from dataclasses import dataclass

import pymysql

from ..checkpoints import CheckpointStore, open_store
from ..common.connection import connect
from ..common.dberrors import describe, error_code
from ..common.failpoint import InjectedFault
from ..config.model import TaskConfig, TidbSection
from ..errors import CheckpointError, ConfigError, LightningError

EXIT_FAILED = 1
EXIT_CONFIG = 2

_UNREACHABLE = frozenset({2002, 2003, 2005, 2006, 2013})
_LOGIN_REFUSED = frozenset({1045, 1698, 1251})
_NO_PRIVILEGE = frozenset({1044, 1142, 1143, 1227, 1370, 1410})
_NAME_NOT_RESOLVED = re.compile(r"\[Errno -\d+\]")  # getaddrinfo's negative error numbers
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


@dataclass(frozen=True)
class Failure:
    """What the command line prints and logs, and the status it exits with."""

    line: str
    status: int


def describe_failure(exc: BaseException, tidb: TidbSection | None) -> Failure:
    """One line for ``exc`` (what failed and what to do) and its exit status; never the password."""
    if isinstance(exc, ConfigError):
        return Failure(_mask(str(exc), tidb), EXIT_CONFIG)
    server = _server_error(exc)
    if server is not None and tidb is not None:
        return Failure(_mask(_server_line(server, tidb), tidb), EXIT_FAILED)
    if isinstance(exc, LightningError | InjectedFault):
        return Failure(_mask(str(exc), tidb), EXIT_FAILED)
    if isinstance(exc, OSError):
        return Failure(_mask(_os_line(exc), tidb), EXIT_FAILED)
    text = describe(exc) if server is not None else f"{type(exc).__name__}: {exc}"
    return Failure(_mask(f"unexpected error: {text}", tidb), EXIT_FAILED)


def open_checkpoint_store(config: TaskConfig) -> CheckpointStore:
    """``open_store`` for ``config``, with a missing privilege on the checkpoint schema said as such.

    The store is the first thing that writes to the target, so a user who may import rows but not
    create the checkpoint schema fails here, with the schema, the user and the two ways out.
    """
    try:
        return open_store(config.checkpoint, lambda: connect(config.tidb))
    except pymysql.err.MySQLError as exc:
        if error_code(exc) not in _NO_PRIVILEGE:
            raise
        tidb, schema = config.tidb, config.checkpoint.schema
        raise CheckpointError(
            f"user {tidb.user!r} may not use the checkpoint schema `{schema}` on {tidb.host}:{tidb.port} "
            f"({describe(exc)}). Grant it: GRANT ALL ON `{schema}`.* TO '{tidb.user}'; or choose another "
            "[checkpoint] schema, or driver = \"file\""
        ) from exc


def close_after_failure(store: CheckpointStore, log: logging.Logger) -> None:
    """Close the store without hiding the failure that stopped the caller.

    A store that could not save (a full disk under the file checkpoint) fails again on its last
    flush; that second error is the first one again, so it is logged, not raised over it."""
    try:
        store.close()
    except Exception as exc:  # noqa: BLE001 - the caller's own failure is the one to report
        log.debug("closing the checkpoint store after the failure also failed: %s", exc)


def _server_error(exc: BaseException) -> pymysql.err.MySQLError | None:
    """The PyMySQL error ``exc`` is or was raised from, if any (an ImportFailed may wrap a lost server)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, pymysql.err.MySQLError):
            return seen
        if isinstance(seen, LightningError):
            return None  # the engine's own message already says what happened where
        seen = seen.__cause__
    return None


def _server_line(exc: pymysql.err.MySQLError, tidb: TidbSection) -> str:
    where = f"{tidb.host}:{tidb.port}"
    code = error_code(exc)
    if code in _UNREACHABLE:
        if isinstance(exc.__context__, socket.gaierror) or _NAME_NOT_RESOLVED.search(str(exc)):
            return (f"cannot resolve the server's host name {tidb.host!r} ({describe(exc)}). Check [tidb] host "
                    "(--tidb-host)")
        return (f"cannot reach the server at {where} ({describe(exc)}). Check that it is running and that [tidb] "
                "host and port (--tidb-host, --tidb-port) point at it; then rerun, the checkpoint resumes")
    if code in _LOGIN_REFUSED:
        return (f"the server at {where} refused the login of user {tidb.user!r} ({describe(exc)}). Check [tidb] "
                "user and password (--tidb-user, --tidb-password)")
    if code in _NO_PRIVILEGE:
        return (f"user {tidb.user!r} lacks a privilege on {where} ({describe(exc)}). Grant it, or import as a "
                "user that has it")
    return f"the server at {where} failed: {describe(exc)}"


def _os_line(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in _FULL:
        return f"cannot write{where}: {reason}. Free space there (or point the file elsewhere) and rerun"
    return f"cannot use{where}: {reason}"


def _mask(text: str, tidb: TidbSection | None) -> str:
    """``text`` with the password replaced, in case a server or library ever echoed it."""
    password = tidb.password if tidb is not None else ""
    return text.replace(password, "******") if password else text

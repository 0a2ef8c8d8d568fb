"""What both command lines share: where the log goes, and how a failure ends the process.

``tidb-lightning-py`` and ``tidb-lightning-py-ctl`` log the same way (``-L``, ``--log-file``) and
end a failure the same way: one line in the log, also on standard error when the log is a file,
and the exit status :mod:`.failures` chose.
"""

from __future__ import annotations

import logging
import sys

from ..errors import ConfigError
from .failures import Failure

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "warning": logging.WARNING,
          "error": logging.ERROR, "fatal": logging.CRITICAL}


def setup_logging(level: str, file: str, name: str = "tidb-lightning-py") -> logging.Logger:
    """Log to ``file`` (or stderr) at ``level``; a file that cannot be opened is a configuration error."""
    try:
        handler: logging.Handler = logging.FileHandler(file) if file else logging.StreamHandler(sys.stderr)
    except OSError as exc:
        raise ConfigError(f"cannot open the log file {file}: {exc.strerror or exc}", key="lightning.file") from exc
    handler.setFormatter(logging.Formatter("[%(asctime)s] [%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS.get(level.lower(), logging.INFO))
    return logging.getLogger(name)


def early_logger(file: str) -> logging.Logger | None:
    """The log for a failure found before the configuration was read: ``--log-file`` if it opens, else stderr."""
    if not file:
        return None
    try:
        return setup_logging("info", file)
    except ConfigError:
        return None


def report_failure(prog: str, failure: Failure, log: logging.Logger | None, log_file: str) -> int:
    """Log the failure's one line (to the log file when there is one, and then on stderr too); the exit status."""
    if log is not None:
        log.error("%s", failure.line)
    if log is None or log_file:
        print(f"{prog}: {failure.line}", file=sys.stderr)
    return failure.status

"""Exception types of the import engine.

Every error carries the context a user needs to act on it: the configuration key for
configuration errors, the file and byte offset for data errors, the table for DDL errors.
Messages never contain a password: connection errors are built from host/port/user only.
"""

from __future__ import annotations


class LightningError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(LightningError):
    """A task configuration key is missing, of the wrong type or has an unknown value."""

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        self.key = key
        self.source = source
        where = []
        if key:
            where.append(f"key {key!r}")
        if source:
            where.append(f"in {source}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class SourceError(LightningError):
    """The dump directory cannot be read as asked: a file is unreadable, unrouted or malformed.

    ``path`` and ``offset`` (a byte offset into the decompressed stream) locate the problem.
    """

    def __init__(self, message: str, *, path: str | None = None, offset: int | None = None) -> None:
        self.path = path
        self.offset = offset
        self.reason = message
        where = ""
        if path is not None:
            where = f"{path}" + (f" at byte offset {offset}" if offset is not None else "")
            message = f"{where}: {message}"
        super().__init__(message)


class SchemaError(LightningError):
    """Creating a database, table or view on the target failed."""

    def __init__(self, message: str, *, table: str | None = None) -> None:
        self.table = table
        super().__init__(f"{table}: {message}" if table else message)


class ImportFailed(LightningError):
    """The import stopped: the error budget was exceeded or a table could not be written.

    ``table``, ``path``, ``offset`` and ``server_error`` say where and why. ``data_error`` is False
    when the cause is not in the data (the server stayed unreachable, a privilege is missing): then
    the checkpoint does not mark the table failed, and a plain rerun continues once the cause is fixed.
    """

    def __init__(
        self,
        message: str,
        *,
        table: str | None = None,
        path: str | None = None,
        offset: int | None = None,
        server_error: str | None = None,
        data_error: bool = True,
    ) -> None:
        self.table = table
        self.data_error = data_error
        self.path = path
        self.offset = offset
        self.server_error = server_error
        super().__init__(message)


class CheckpointError(LightningError):
    """The saved checkpoint does not match the task, the source or the target any more."""


class ImportCancelled(LightningError):
    """The import was asked to stop (``on_kill``, Ctrl-C) and stopped at a consistent point."""


class RequirementsNotMet(LightningError):
    """The pre-checks (``[lightning] check-requirements``) found problems; nothing was written.

    ``problems`` lists each one; the message holds them all, one per line.
    """

    def __init__(self, message: str, *, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(message)

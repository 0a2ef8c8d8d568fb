"""The DB-API cursor and connection, as far as the engine uses them.

The engine talks to PyMySQL, but only through this much of PEP 249; naming it as a Protocol lets
type checking catch a misuse without tying signatures to PyMySQL's classes, so the Airflow hook's
connections (or any MySQL-protocol driver) fit the same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    """A PEP 249 cursor, with PyMySQL's ``connection`` attribute (the writer rolls back through it).

    ``query`` is typed ``str`` as PyMySQL's stubs declare it, although PyMySQL also sends ``bytes``.
    """

    @property
    def rowcount(self) -> int: ...

    @property
    def connection(self) -> Connection: ...

    def execute(self, query: str, args: Any = None, /) -> int: ...

    def executemany(self, query: str, args: Iterable[Any], /) -> int | None: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchall(self) -> Sequence[tuple[Any, ...]]: ...

    def close(self) -> None: ...


class Connection(Protocol):
    """A PEP 249 connection that hands out :class:`Cursor` objects."""

    def cursor(self) -> Cursor: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

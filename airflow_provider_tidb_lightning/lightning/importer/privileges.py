"""Which privileges the import's user holds, read from ``SHOW GRANTS`` (MySQL, MariaDB and TiDB spellings).

The pre-checks ask before anything is written whether the user may create and fill the targets
and the checkpoint and error schemas, so a missing ``INSERT`` is one clear message at the start
instead of a failed batch after the schema step created every table. Grants are read, not tried:
trying would write.

Database-level grants follow MySQL's patterns (``_`` and ``%`` are wildcards unless escaped with a
backslash). Roles are not expanded (MySQL 8 and MariaDB report them as ``GRANT role TO user``):
when the user has any, :attr:`Grants.has_roles` is set and the caller treats a missing privilege
as a warning, since a role may hold it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_GRANT = re.compile(r"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?:TABLE\s+)?(?P<target>\S+)\s+TO\s", re.IGNORECASE | re.DOTALL)
_ALL = "ALL"


@dataclass
class Grants:
    """The privileges of the current user: global, per database pattern and per table."""

    global_privileges: set[str] = field(default_factory=set)
    database_privileges: list[tuple[re.Pattern[str], set[str]]] = field(default_factory=list)
    table_privileges: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    has_roles: bool = False

    def allows(self, privilege: str, database: str, table: str | None = None) -> bool:
        """Whether ``privilege`` (e.g. ``"INSERT"``) is granted on ``database`` (or on its ``table``)."""
        wanted = {privilege.upper(), _ALL}
        if self.global_privileges & wanted:
            return True
        if any(pattern.fullmatch(database) and privileges & wanted
               for pattern, privileges in self.database_privileges):
            return True
        return table is not None and bool(self.table_privileges.get((database, table), set()) & wanted)


def read_grants(cur: Any) -> Grants:
    """``SHOW GRANTS`` of the connected user, parsed. The raw lines (which may hold a password hash) are not kept."""
    cur.execute("SHOW GRANTS")
    return parse_grants(str(row[0]) for row in cur.fetchall())


def parse_grants(lines: Any) -> Grants:
    grants = Grants()
    for line in lines:
        match = _GRANT.match(line.strip())
        if match is None:
            if line.strip().upper().startswith("GRANT "):
                grants.has_roles = True  # GRANT role TO user, or GRANT PROXY ...
            continue
        privileges = _privileges(match["privs"])
        database, _, table = match["target"].partition(".")
        database, table = _unquote(database), _unquote(table)
        if database == "*":
            grants.global_privileges |= privileges
        elif table == "*":
            grants.database_privileges.append((_database_pattern(database), privileges))
        else:
            grants.table_privileges.setdefault((database, table), set()).update(privileges)
    return grants


def _privileges(text: str) -> set[str]:
    """``SELECT (a, b), INSERT`` or TiDB's ``Select,Insert`` -> {"SELECT", "INSERT"}; ALL [PRIVILEGES] -> {"ALL"}."""
    text = re.sub(r"\([^)]*\)", "", text)  # column lists
    names = {" ".join(part.split()).upper() for part in text.split(",") if part.strip()}
    return {_ALL if name in ("ALL", "ALL PRIVILEGES") else name for name in names}


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "`'\"":
        return name[1:-1].replace(name[0] * 2, name[0])
    return name


def _database_pattern(name: str) -> re.Pattern[str]:
    """MySQL's database grant pattern: ``%`` any run, ``_`` one character, ``\\`` escapes either."""
    out = []
    escaped = False
    for char in name:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)

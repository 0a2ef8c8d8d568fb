"""Check that every loader loaded the same data: a fast wrong loader must not win the table.

Row counts are compared with the ``.tbl`` line counts (the truth); ``CHECKSUM TABLE`` values,
which catch rows that are present but different (a mangled decimal, a truncated string), are
compared between loaders, the value most loaders agree on being taken as right. Every target is
built from the same DDL (dumped or pre-created), so equal data gives equal checksums.
"""

from __future__ import annotations

from collections import Counter

from benchmarks.loader import OK, Outcome
from benchmarks.server import ScratchServer
from benchmarks.tpch_data import TABLES


def inspect_database(server: ScratchServer, database: str) -> tuple[dict[str, int], dict[str, int | None]]:
    """Row counts and ``CHECKSUM TABLE`` values per TPC-H table (-1 rows for a missing table)."""
    rows: dict[str, int] = {}
    checksums: dict[str, int | None] = {}
    with server.connect(database) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
        present = {name.lower() for (name,) in cur.fetchall()}
        for table in TABLES:
            if table not in present:
                rows[table], checksums[table] = -1, None
                continue
            cur.execute(f"SELECT COUNT(*) FROM `{table}`")
            rows[table] = int(cur.fetchone()[0])
            cur.execute(f"CHECKSUM TABLE `{table}`")
            checksums[table] = cur.fetchone()[1]
    return rows, checksums


def find_mismatches(outcomes: list[Outcome], expected_rows: dict[str, int]) -> list[str]:
    """One message per loader and table whose rows or checksum differ from the rest."""
    loaded = [o for o in outcomes if o.status == OK]
    problems = [
        f"{o.loader.name}: {table} has {o.rows.get(table)} rows, expected {want}"
        + (" (table missing)" if o.rows.get(table) == -1 else "")
        for o in loaded for table, want in expected_rows.items() if o.rows.get(table) != want
    ]
    for table in TABLES:
        agreed = _majority([o.checksums.get(table) for o in loaded])
        problems += [
            f"{o.loader.name}: CHECKSUM TABLE {table} = {o.checksums.get(table)}, other loaders: {agreed}"
            for o in loaded if o.checksums.get(table) != agreed
        ]
    return problems


def _majority(values: list[int | None]) -> int | None:
    counted = Counter(values)
    return counted.most_common(1)[0][0] if counted else None

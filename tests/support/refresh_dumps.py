"""Two generations of a small mydumper dump, for the refresh tests: yesterday's and today's copy of a source.

``write_dump`` writes ``tpch``-schema files in mydumper's naming (so ``cli_task.write_task`` can
import them) from plain Python rows; ``day_one`` / ``day_two`` are the two generations: the second
deletes rows, changes others and adds new ones, so only a refresh that replaces whole tables ends
equal to it. ``table_rows`` reads a target table back in key order for exact comparison.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA = "tpch"  # the source schema name cli_task's task files filter and route
TABLES = ("items", "events")
_DDL = {
    "items": "CREATE TABLE `items` (\n  `id` int NOT NULL,\n  `name` varchar(40) NOT NULL,\n"
             "  `price` decimal(10,2) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB;\n",
    "events": "CREATE TABLE `events` (\n  `id` bigint NOT NULL,\n  `item_id` int NOT NULL,\n"
              "  `note` varchar(200) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `item` (`item_id`)\n"
              ") ENGINE=InnoDB;\n",
}
Rows = dict[str, list[tuple[Any, ...]]]


def day_one() -> Rows:
    return {
        "items": [(i, f"item {i}", Decimal(i) / 4) for i in range(1, 3001)],
        "events": [(i, i % 3000 + 1, f"event {i} " + "x" * (i % 50)) for i in range(1, 6001)],
    }


def day_two() -> Rows:
    """Rows deleted (every 7th item, the first 500 events), changed (prices, notes) and added."""
    items = [(i, f"item {i}" if i % 5 else f"renamed {i}", Decimal(i) / 4 + (1 if i % 3 == 0 else 0))
             for i in range(1, 3401) if i % 7]
    events = [(i, i % 3000 + 1, None if i % 11 == 0 else f"event {i} v2") for i in range(501, 7001)]
    return {"items": items, "events": events}


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def write_dump(root: Path, rows: Rows, *, rows_per_file: int = 1000, empty: tuple[str, ...] = (),
               metadata: dict[str, int] | None = None) -> Path:
    """Write ``rows`` as a mydumper dump in ``root``; tables in ``empty`` get one empty data file.

    ``metadata`` writes a mydumper >= 0.14 ``metadata`` file recording these row counts per table.
    """
    root.mkdir(parents=True, exist_ok=True)
    if metadata is not None:
        sections = [f"[`{SCHEMA}`.`{table}`]\nreal_table_name={table}\nrows = {n}\n" for table, n in metadata.items()]
        head = "# Started dump at: 2026-11-29 01:00:00\n[config]\nquote-character = BACKTICK\n\n"
        (root / "metadata").write_text(head + "\n".join(sections) + "# Finished dump at: 2026-11-29 01:00:05\n")
    (root / f"{SCHEMA}-schema-create.sql").write_text(f"CREATE DATABASE `{SCHEMA}`;\n")
    for table, table_rows in rows.items():
        (root / f"{SCHEMA}.{table}-schema.sql").write_text("/*!40101 SET NAMES binary*/;\n" + _DDL[table])
        if table in empty:
            (root / f"{SCHEMA}.{table}.00000.sql").write_bytes(b"")
            continue
        for n, start in enumerate(range(0, len(table_rows), rows_per_file)):
            part = table_rows[start:start + rows_per_file]
            lines = [f"INSERT INTO `{table}` VALUES"]
            lines += [f"({','.join(_literal(v) for v in row)})" + ("," if i < len(part) - 1 else ";")
                      for i, row in enumerate(part)]
            (root / f"{SCHEMA}.{table}.{n:05d}.sql").write_text("\n".join(lines) + "\n")
    return root


def table_rows(conn: Any, db: str, table: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{db}`.`{table}` ORDER BY `id`")
        return [tuple(row) for row in cur.fetchall()]


def table_names(conn: Any, db: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY 1", (db,))
        return [row[0] for row in cur.fetchall()]

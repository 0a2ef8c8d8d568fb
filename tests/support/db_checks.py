"""Compare tables by content: row count plus, per column, non-NULL count and two CRC32 aggregates.

Works the same on MariaDB, MySQL and TiDB (no CHECKSUM TABLE, which TiDB lacks), and tells which
column differs when two imports disagree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from airflow_provider_tidb_lightning.lightning.common.quoting import quote_identifier, quote_table

TPCH_COUNTS = {"nation": 25, "region": 5, "part": 2000, "supplier": 100, "partsupp": 8000, "customer": 1500,
               "orders": 15000, "lineitem": 60175}


def columns(conn: Any, db: str, table: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s"
                    " ORDER BY ORDINAL_POSITION", (db, table))
        return [r[0] for r in cur.fetchall()]


def table_checksum(conn: Any, db: str, table: str) -> dict[str, Any]:
    """{"rows": n, column: (non-null count, BIT_XOR(CRC32), SUM(CRC32))}."""
    cols = columns(conn, db, table)
    exprs = ["COUNT(*)"]
    for c in cols:
        q = quote_identifier(c)
        exprs += [f"COUNT({q})", f"BIT_XOR(CRC32({q}))", f"SUM(CRC32({q}))"]
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(exprs)} FROM {quote_table(db, table)}")
        row = cur.fetchone()
    result: dict[str, Any] = {"rows": int(row[0])}
    for i, c in enumerate(cols):
        result[c] = tuple(int(v or 0) for v in row[1 + 3 * i: 4 + 3 * i])
    return result


def database_checksums(conn: Any, db: str) -> dict[str, dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA=%s AND TABLE_TYPE='BASE TABLE'", (db,))
        tables = sorted(r[0] for r in cur.fetchall())
    return {t: table_checksum(conn, db, t) for t in tables}


def load_with_client(server: Any, db: str, dump_dir: Path) -> None:
    """Execute a mydumper dump with the ``mariadb`` client: the reference every import is compared with."""
    files = sorted(p for p in dump_dir.iterdir() if p.name.endswith("-schema.sql"))
    files += sorted(p for p in dump_dir.iterdir()
                    if p.suffix == ".sql" and "-schema" not in p.name)
    sql = b"".join(p.read_bytes() + b"\n" for p in files)
    cmd = ["mariadb", f"--host={server.host}", f"--port={server.port}", f"--user={server.user}",
           "--default-character-set=utf8mb4", db]
    env = {"MYSQL_PWD": server.password} if server.password else {}
    subprocess.run(cmd, input=sql, check=True, env={"PATH": "/usr/bin:/bin", **env})


def load_reference(server: Any, sample_dir: Path) -> str:
    """The sample dump executed by the mariadb client, loaded once per server: what imports must equal."""
    name = "ref_tpch_client"
    with server.connect() as conn, conn.cursor() as cur:
        if not cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s AND TABLE_NAME='lineitem'",
                           (name,)):
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name}")
            load_with_client(server, name, sample_dir / "mydumper-sql")
    return name


def drop_side_schemas(server: Any, db: str) -> None:
    """Drop the checkpoint and task-info schemas of target ``db`` (make_database drops only ``db``)."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{db}_ckpt`")
        cur.execute(f"DROP DATABASE IF EXISTS `{db}_info`")


def server_status(server: Any, name: str) -> int:
    """A global status counter of the server (``Com_load``, ``Com_insert``...), to see which statements ran."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
        return int(cur.fetchone()[1])


def select_all(server: Any, sql: str) -> tuple[Any, ...]:
    """Every row ``sql`` returns, on a connection of its own."""
    with server.connect() as conn, conn.cursor() as cur:
        cur.execute(sql)
        return tuple(cur.fetchall())

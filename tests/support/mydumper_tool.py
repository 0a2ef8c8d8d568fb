"""Real mydumper dumps for engine tests: make them, execute them with the client, compare tables byte for byte.

``dump()`` runs Debian's ``mydumper`` (0.10.x) against the test server. ``execute_dump()`` is the
reference every engine import is compared with: the dump's own statements run by the ``mariadb``
client, like ``db_checks.load_with_client`` but also for gzip dumps and views, and in binary
mode so no byte of the data is translated. ``ordered_rows()`` compares rows byte for byte;
per-column checksums are ``db_checks.table_checksum``.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path
from typing import Any

import pymysql.converters
import pytest

from airflow_provider_tidb_lightning.lightning.common.quoting import quote_identifier as quote
from tests.support import tpch

_DATA_KEY = re.compile(r"\.(\d+)\.sql(?:\.gz)?$")


def dump(server: Any, database: str, outdir: Path, *options: str) -> Path:
    """Dump ``database`` with mydumper into ``outdir``; fails the test on any mydumper error."""
    try:
        cmd = tpch.mydumper_command(server, database, outdir, "--verbose", "2", *options)
    except tpch.MissingTool as exc:  # root installs it (make test); say how instead of a traceback
        pytest.fail(str(exc), pytrace=False)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    if done.returncode != 0 or "CRITICAL" in output:
        pytest.fail(f"mydumper failed ({done.returncode}): {' '.join(cmd)}\n{output}", pytrace=False)
    return outdir


def _read(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()


def _data_order(path: Path) -> tuple[str, int]:
    match = _DATA_KEY.search(path.name)
    table = path.name[: match.start()] if match else re.sub(r"\.sql(?:\.gz)?$", "", path.name)
    return table, int(match.group(1)) if match else -1


def execute_dump(server: Any, db: str, dump_dir: Path) -> None:
    """Run a mydumper dump into the existing database ``db`` with the ``mariadb`` client.

    The schema-create file names the source database, so it is left out; table schemas run
    first, then data files (in their numeric order), then views.
    """
    names = sorted(p.name for p in dump_dir.iterdir())
    plain = [re.sub(r"\.gz$", "", n) for n in names]
    tables = [n for n, p in zip(names, plain, strict=True) if p.endswith("-schema.sql")]
    views = [n for n, p in zip(names, plain, strict=True) if p.endswith("-schema-view.sql")]
    data = sorted((n for n, p in zip(names, plain, strict=True) if p.endswith(".sql") and "-schema" not in p),
                  key=lambda n: _data_order(dump_dir / n))
    sql = b"".join(_read(dump_dir / n) + b"\n" for n in tables + data + views)
    cmd = ["mariadb", f"--host={server.host}", f"--port={server.port}", f"--user={server.user}",
           "--default-character-set=utf8mb4", "--binary-mode", db]
    env = {"PATH": "/usr/bin:/bin", **({"MYSQL_PWD": server.password} if server.password else {})}
    done = subprocess.run(cmd, input=sql, capture_output=True, env=env, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"the mariadb client could not execute {dump_dir}: {done.stderr.decode(errors='replace')}",
                    pytrace=False)


def table_names(conn: Any, db: str, kind: str = "BASE TABLE") -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s AND TABLE_TYPE=%s"
                    " ORDER BY TABLE_NAME", (db, kind))
        return [_text(r[0]) for r in cur.fetchall()]


def column_definitions(conn: Any, db: str, table: str) -> list[tuple[Any, ...]]:
    """Every column's name, type, nullability, default, extra, generation expression and collation."""
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION,"
                    " COLLATION_NAME, COLUMN_KEY FROM information_schema.COLUMNS"
                    " WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s ORDER BY ORDINAL_POSITION", (db, table))
        return [tuple(_text(v) for v in row) for row in cur.fetchall()]


def _primary_key(conn: Any, db: str, table: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s"
                    " AND INDEX_NAME='PRIMARY' ORDER BY SEQ_IN_INDEX", (db, table))
        return [_text(r[0]) for r in cur.fetchall()]


def ordered_rows(server: Any, db: str, table: str) -> list[tuple[bytes | None, ...]]:
    """All rows in primary-key order, each value exactly as the server sends it (bytes, no conversion).

    Floating-point columns are sent a second time as ``CAST(.. AS DOUBLE)``, whose text is exact,
    since the plain text of a FLOAT keeps only six digits. TIMESTAMPs are read in UTC.
    """
    with server.connect(conv=dict(pymysql.converters.encoders), use_unicode=False) as conn:  # no decoders
        definitions = column_definitions(conn, db, table)
        exprs = [quote(d[0]) for d in definitions]
        exprs += [f"CAST({quote(d[0])} AS DOUBLE)" for d in definitions if d[1].startswith(("float", "double"))]
        order = ", ".join(quote(c) for c in _primary_key(conn, db, table)) or "1"
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            cur.execute(f"SELECT {', '.join(exprs)} FROM {quote(db)}.{quote(table)} ORDER BY {order}")
            return list(cur.fetchall())


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value

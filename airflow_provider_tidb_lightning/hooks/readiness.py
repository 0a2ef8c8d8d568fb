"""What "the import target is ready" means, decided in one place.

:class:`~.target.TiDBTargetReadySensor` (poke mode) and
:class:`~airflow_provider_tidb_lightning.triggers.target.TiDBTargetReadyTrigger` (deferred mode)
both call :func:`target_not_ready_reason`, so a DAG behaves the same whichever mode it picks.
The function is blocking and Airflow-free: it takes the engine's
:class:`~airflow_provider_tidb_lightning.lightning.config.model.TidbSection`, which the caller builds from
the Airflow connection, and the trigger runs it in a worker thread.

"Not ready" is an answer, not an error: connection refusals, server errors and unhealthy status
ports come back as a reason string to log and poke again. Only a mistake in the sensor's own
arguments raises, because waiting longer cannot fix it.
"""

from __future__ import annotations

import dataclasses
import json
import ssl
import urllib.error
import urllib.request

import pymysql

from ..lightning.common.connection import connect
from ..lightning.common.cursor import Cursor
from ..lightning.common.quoting import quote_table
from ..lightning.config.model import TidbSection, TLSMode

DEFAULT_CHECK_TIMEOUT = 5.0


def target_not_ready_reason(
    tidb: TidbSection,
    *,
    check_status_port: bool = False,
    schema: str | None = None,
    empty_table: str | None = None,
    timeout: float = DEFAULT_CHECK_TIMEOUT,
) -> str | None:
    """Return ``None`` when the target is ready, otherwise a sentence saying why not.

    Ready means: the SQL port accepts a login and answers ``SELECT 1``; with ``check_status_port``
    TiDB's HTTP ``/status`` on ``tidb.status_port`` answers 200 with a JSON object; with ``schema``
    that database exists; with ``empty_table`` (``"table"`` in ``schema`` or ``"db.table"``) that
    table exists and has no rows. ``timeout`` bounds every network step, so one check never
    outlives a poke interval by much.
    """
    table_ref = _split_table(empty_table, schema) if empty_table else None
    quick = dataclasses.replace(
        tidb, connect_timeout=min(tidb.connect_timeout, timeout), read_timeout=timeout
    )
    where = f"{tidb.host}:{tidb.port}"
    try:
        conn = connect(quick)
    except pymysql.MySQLError as exc:
        return f"cannot log in to {where} as {tidb.user!r}: {exc}"
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            if cur.fetchone() != (1,):
                return f"{where} did not answer SELECT 1"
            if schema and not _exists(cur, "SCHEMATA", "SCHEMA_NAME = %s", (schema,)):
                return f"database {schema!r} does not exist on {where}"
            if table_ref:
                db, table = table_ref
                if not _exists(cur, "TABLES", "TABLE_SCHEMA = %s AND TABLE_NAME = %s", (db, table)):
                    return f"table {db}.{table} does not exist on {where}"
                cur.execute(f"SELECT 1 FROM {quote_table(db, table)} LIMIT 1")
                if cur.fetchone() is not None:
                    return f"table {db}.{table} on {where} is not empty"
    except pymysql.MySQLError as exc:
        return f"{where} failed a readiness query: {exc}"
    finally:
        conn.close()
    if check_status_port:
        return status_port_problem(tidb, timeout=timeout)
    return None


def status_port_problem(tidb: TidbSection, *, timeout: float = DEFAULT_CHECK_TIMEOUT) -> str | None:
    """Ask TiDB's status port for ``/status``; ``None`` when it answers 200 with a JSON object.

    The status port serves HTTPS only when the cluster uses TLS, which tidb-lightning expresses
    as ``tls = "cluster"``; the CA and client certificate are then the same as for SQL.
    """
    scheme = "https" if tidb.tls == TLSMode.CLUSTER else "http"
    url = f"{scheme}://{tidb.host}:{tidb.status_port}/status"
    context = None
    if scheme == "https":
        context = ssl.create_default_context(cafile=tidb.ca_path or None)
        if tidb.cert_path:
            context.load_cert_chain(tidb.cert_path, tidb.key_path or None)
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            body = response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return f"status port {url} answered HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"status port {url} unreachable: {exc}"
    try:
        status = json.loads(body)
    except ValueError:
        return f"status port {url} did not answer JSON"
    if not isinstance(status, dict):
        return f"status port {url} answered {type(status).__name__}, not a JSON object"
    return None


def _split_table(empty_table: str, schema: str | None) -> tuple[str, str]:
    """Resolve ``empty_table`` to (database, table); a bare name needs ``schema``."""
    db, dot, table = empty_table.partition(".")
    if dot:
        if not db or not table:
            raise ValueError(f"empty_table {empty_table!r} is not of the form 'table' or 'database.table'")
        return db, table
    if not schema:
        raise ValueError(f"empty_table {empty_table!r} has no database: pass schema= or 'database.table'")
    return schema, empty_table


def _exists(cur: Cursor, view: str, condition: str, args: tuple[str, ...]) -> bool:
    """Whether ``information_schema.<view>`` has a row matching ``condition``."""
    cur.execute(f"SELECT 1 FROM information_schema.{view} WHERE {condition} LIMIT 1", args)
    return cur.fetchone() is not None

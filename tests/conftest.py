"""Shared test fixtures: an isolated Airflow home and a real MySQL-protocol server.

Airflow reads its configuration when it is first imported, so the environment below is set
before any test module can import it. The server is a private MariaDB started once per
session (TiDB's own test server is not packaged for Debian); set ``TIDB_LIGHTNING_TEST_DSN``
(``mysql://user:pass@host:port/``) to run the same tests against a TiDB or MySQL instead.

Fixtures other test files rely on: ``airflow_db``, ``db_server``, ``make_database``,
``fresh_db``, ``sample_dir``, ``tidb_conn_id``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
import pytest

from airflow_provider_tidb_lightning.lightning.common.server_info import detect_server

# Neither of these imports Airflow, so the environment below is still in time.
from airflow_provider_tidb_lightning.lightning.config.model import TidbSection
from tests.support.paths import REPO
from tests.support.throwaway_mariadb import ServerUnavailable, ThrowawayMariaDB

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="tl-airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "example_dags"))
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
if metadata.version("apache-airflow").startswith("2."):
    # Airflow 2's unit-test configuration picks LocalExecutor, which refuses SQLite; the
    # SequentialExecutor (Airflow 2's default, gone in Airflow 3) is the one that runs on it.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"

DSN_ENV = "TIDB_LIGHTNING_TEST_DSN"
TEST_CONN_ID = "tidb_test"
SAMPLE_DIR = REPO.parent / "shared" / "samples" / "tpch-sf0.01"
# Speed over durability: the server is thrown away after the session.
MARIADB_OPTIONS = (
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-size=512M",
    "--local-infile=1",
    # TiDB's default collation, so key comparisons behave as on the real target.
    "--collation-server=utf8mb4_bin",
)


@dataclass
class DbServer:
    """Where the test server listens; root-equivalent credentials."""

    host: str
    port: int
    user: str
    password: str
    flavour: str = ""
    version: str = ""

    def tidb_section(self, **overrides: Any) -> TidbSection:
        """Engine ``[tidb]`` settings for this server; ``overrides`` replace any field."""
        fields = {"host": self.host, "port": self.port, "user": self.user, "password": self.password}
        return TidbSection(**{**fields, **overrides})

    def connect(self, database: str | None = None, **kwargs: Any) -> pymysql.Connection:
        """A plain autocommit PyMySQL connection, independent of the code under test."""
        options: dict[str, Any] = {"charset": "utf8mb4", "autocommit": True, **kwargs}
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, database=database,
            **options,
        )

    def __repr__(self) -> str:
        return f"DbServer({self.flavour} {self.version} at {self.host}:{self.port} as {self.user!r})"


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's SQLite metadata database, created once from the ORM (no migrations: ~2 s)."""
    from airflow.utils import db

    db.initdb()


@pytest.fixture(scope="session")
def db_server() -> Iterator[DbServer]:
    """The test server: ``TIDB_LIGHTNING_TEST_DSN`` if set, else a private MariaDB for the session."""
    dsn = os.environ.get(DSN_ENV)
    if dsn:
        yield _identify(_server_from_dsn(dsn))
        return
    mariadb, server = start_private_server()
    try:
        yield _identify(server)
    finally:
        mariadb.stop()


@pytest.fixture
def make_database(db_server: DbServer) -> Iterator[Callable[..., str]]:
    """``make_database(prefix="t") -> name``: a new empty database, dropped after the test."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with db_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        created.append(name)
        return name

    yield make
    if created:
        with db_server.connect() as conn, conn.cursor() as cur:
            for name in created:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def fresh_db(make_database: Callable[..., str]) -> str:
    """The name of one new empty database, dropped after the test."""
    return make_database()


@pytest.fixture
def sample_dir() -> Path:
    """The shared TPC-H dump (``mydumper-sql/`` and ``tbl/``) at scale 0.01."""
    if not SAMPLE_DIR.is_dir():
        pytest.skip(f"sample dump not found at {SAMPLE_DIR} (shared/ is checked out next to the repo)")
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def tidb_conn_id(db_server: DbServer) -> Iterator[str]:
    """The id of an Airflow ``tidb`` connection to the test server, defined through the environment."""
    variable = f"AIRFLOW_CONN_{TEST_CONN_ID.upper()}"
    previous = os.environ.get(variable)
    os.environ[variable] = json.dumps(
        {
            "conn_type": "tidb",
            "host": db_server.host,
            "port": db_server.port,
            "login": db_server.user,
            "password": db_server.password,
        }
    )
    yield TEST_CONN_ID
    if previous is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = previous


def _server_from_dsn(dsn: str) -> DbServer:
    parts = urlsplit(dsn)
    if parts.scheme not in ("mysql", "tidb", "mariadb") or not parts.hostname:
        raise pytest.UsageError(f"{DSN_ENV} must look like mysql://user:pass@host:port/")
    return DbServer(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )


def _identify(server: DbServer) -> DbServer:
    with server.connect() as conn:
        info = detect_server(conn)
    server.flavour, server.version = info.flavour, info.version
    return server


def start_private_server(options: tuple[str, ...] = MARIADB_OPTIONS) -> tuple[ThrowawayMariaDB, DbServer]:
    """A private MariaDB for this session (or one test); fails the tests with a reason if it cannot start."""
    mariadb = ThrowawayMariaDB(options)
    try:
        mariadb.start()
    except ServerUnavailable as exc:
        pytest.fail(f"{exc}\n(or point {DSN_ENV} at a running TiDB/MySQL, e.g. mysql://root:@127.0.0.1:4000/)",
                    pytrace=False)
    return mariadb, DbServer(host=mariadb.host, port=mariadb.port, user=mariadb.user, password="")


@pytest.fixture
def reference_db(db_server: DbServer, sample_dir: Path) -> str:
    """The sample's SQL dump executed by the ``mariadb`` client: what every import of it must equal."""
    from tests.support.db_checks import load_reference

    return load_reference(db_server, sample_dir)


@pytest.fixture
def target(db_server: DbServer, fresh_db: str) -> Iterator[str]:
    """A fresh target database; its checkpoint and task-info schemas are dropped afterwards too."""
    from tests.support.db_checks import drop_side_schemas

    yield fresh_db
    drop_side_schemas(db_server, fresh_db)

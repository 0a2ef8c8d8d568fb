"""The test server: a private MariaDB for the session (or one test), or the server ``TIDB_LIGHTNING_TEST_DSN`` names.

``DbServer`` is what tests receive (address, root-equivalent credentials, flavour and version);
``start_private_server`` starts a throw-away MariaDB with the tests' options and fails the tests
with the reason when it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pymysql
import pytest

from airflow_provider_tidb_lightning.lightning.common.server_info import detect_server
from airflow_provider_tidb_lightning.lightning.config.model import TidbSection
from tests.support.throwaway_mariadb import ServerUnavailable, ThrowawayMariaDB

DSN_ENV = "TIDB_LIGHTNING_TEST_DSN"
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


def server_from_dsn(dsn: str) -> DbServer:
    parts = urlsplit(dsn)
    if parts.scheme not in ("mysql", "tidb", "mariadb") or not parts.hostname:
        raise pytest.UsageError(f"{DSN_ENV} must look like mysql://user:pass@host:port/")
    return DbServer(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )


def identify(server: DbServer) -> DbServer:
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

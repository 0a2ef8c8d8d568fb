"""Server detection: the pure parser on known banners, then a real server."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.common.server_info import ServerInfo, detect_server, parse_server_version


@pytest.mark.parametrize(
    ("version", "comment", "flavour", "expected"),
    [
        ("8.0.11-TiDB-v7.5.0", "TiDB Server (Apache License 2.0) Community Edition, MySQL 8.0 compatible",
         "tidb", (7, 5, 0)),
        ("5.7.25-TiDB-v6.5.1-serverless", "", "tidb", (6, 5, 1)),
        ("8.0.11-TiDB-v8.1.0-alpha-69-g1a2b3c", "", "tidb", (8, 1, 0)),
        ("8.0.11-custom", "TiDB Server (Apache License 2.0) Enterprise Edition", "tidb", (8, 0, 11)),
        ("10.11.6-MariaDB-0+deb12u1", "Debian 12", "mariadb", (10, 11, 6)),
        ("11.4.2", "mariadb.org binary distribution", "mariadb", (11, 4, 2)),
        ("8.0.36", "MySQL Community Server - GPL", "mysql", (8, 0, 36)),
        ("8.0.36-0ubuntu0.22.04.1", "(Ubuntu)", "mysql", (8, 0, 36)),
        ("5.7.44-log", "MySQL Community Server (GPL)", "mysql", (5, 7, 44)),
    ],
)
def test_parse_known_banners(version: str, comment: str, flavour: str, expected: tuple[int, ...]) -> None:
    info = parse_server_version(version, comment)
    assert (info.flavour, info.version_tuple) == (flavour, expected)
    assert info.version == ".".join(map(str, expected))
    assert info.raw == version


def test_tidb_reports_its_own_version_not_the_mysql_compatible_one() -> None:
    info = parse_server_version("8.0.11-TiDB-v7.5.0")
    assert str(info) == "TiDB 7.5.0"
    assert info.version_tuple >= (7, 0) and info.version_tuple < (8, 0, 11)


def test_unparseable_version_keeps_flavour_and_an_empty_tuple() -> None:
    info = parse_server_version("unknown", "")
    assert info == ServerInfo("mysql", "", (), "unknown")


def test_detect_real_server(db_server) -> None:
    with db_server.connect() as conn:
        info = detect_server(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            (raw,) = cur.fetchone()
    assert info.raw == raw
    assert info.flavour == db_server.flavour
    assert raw.startswith(info.version) or info.flavour == "tidb"
    assert len(info.version_tuple) >= 2 and all(isinstance(part, int) for part in info.version_tuple)


def test_detect_when_the_driver_returns_bytes(db_server) -> None:
    """A connection without unicode decoding (as under ``SET NAMES binary``) still classifies."""
    with db_server.connect(use_unicode=False) as raw_conn, db_server.connect() as text_conn:
        assert detect_server(raw_conn) == detect_server(text_conn)

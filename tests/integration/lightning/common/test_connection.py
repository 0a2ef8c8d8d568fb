"""connection.py against the real server: session settings, and TLS that must not silently downgrade."""

from __future__ import annotations

import pytest

from airflow_provider_tidb_lightning.lightning.common.connection import connect, connect_args
from airflow_provider_tidb_lightning.lightning.errors import ConfigError


def test_sql_mode_and_session_vars_are_applied(db_server):
    tidb = db_server.tidb_section(sql_mode="STRICT_TRANS_TABLES", session_vars={"foreign_key_checks": 0})
    with connect(tidb) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@SESSION.sql_mode, @@SESSION.foreign_key_checks")
        assert cur.fetchone() == ("STRICT_TRANS_TABLES", 0)


def test_session_variable_names_are_checked(db_server):
    with pytest.raises(ConfigError, match="session-vars"):
        connect(db_server.tidb_section(session_vars={"x = 1; DROP DATABASE y; --": 1}))


@pytest.mark.parametrize("mode", ["skip-verify", "cluster"])
def test_required_tls_is_not_downgraded(db_server, mode):
    """The test server offers no TLS: modes that require it must refuse, not fall back to plain text."""
    with pytest.raises(ConfigError, match="did not negotiate TLS") as info:
        connect(db_server.tidb_section(tls=mode))
    assert info.value.key == "tidb.tls"


def test_preferred_tls_accepts_a_plain_server(db_server):
    with connect(db_server.tidb_section(tls="preferred")) as conn, conn.cursor() as cur:
        assert cur.execute("SELECT 1") == 1


def test_cluster_mode_verifies_with_system_cas_when_no_ca_is_given(db_server):
    args = connect_args(db_server.tidb_section(tls="cluster"))
    assert args["ssl_verify_cert"] is True and args["ssl_verify_identity"] is True and "ssl_ca" not in args

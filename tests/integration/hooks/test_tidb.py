"""TiDBHook against the real test server: Connection -> engine settings -> PyMySQL."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from airflow_provider_tidb_lightning import TIDB_CONN_FIELDS, TIDB_UI_FIELD_BEHAVIOUR
from airflow_provider_tidb_lightning.hooks.tidb import TiDBHook
from airflow_provider_tidb_lightning.lightning.common.connection import connect_args
from airflow_provider_tidb_lightning.lightning.errors import ConfigError
from tests.support.airflow_compat import Connection
from tests.support.ports import closed_port


def hook_for(conn_id: str = "tidb_unit", extra: dict | None = None, **fields) -> TiDBHook:
    """A hook over an in-memory Connection, for tests that need no Airflow secrets lookup."""
    connection = Connection(conn_id=conn_id, conn_type="tidb", extra=json.dumps(extra or {}), **fields)
    return TiDBHook(tidb_conn_id=conn_id, connection=connection)


def server_fields(db_server, **overrides) -> dict:
    fields = {"host": db_server.host, "port": db_server.port, "login": db_server.user,
              "password": db_server.password}
    return {**fields, **overrides}


def test_class_attributes() -> None:
    assert (TiDBHook.conn_type, TiDBHook.default_conn_name, TiDBHook.conn_name_attr, TiDBHook.hook_name) == (
        "tidb", "tidb_default", "tidb_conn_id", "TiDB")
    assert TiDBHook().get_conn_id() == "tidb_default"


def test_hook_from_airflow_connection(db_server, tidb_conn_id) -> None:
    hook = TiDBHook(tidb_conn_id=tidb_conn_id)
    info = hook.get_server_info()
    assert info.flavour == db_server.flavour
    assert info.version == db_server.version
    assert hook.get_first("SELECT CURRENT_USER()")[0].split("@")[0] == db_server.user


def test_inherited_sql_helpers_write_to_the_schema(tidb_conn_id, fresh_db, db_server) -> None:
    hook = TiDBHook(tidb_conn_id=tidb_conn_id, schema=fresh_db)
    hook.run("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")
    hook.insert_rows("t", [(1, "a"), (2, "b")], target_fields=["id", "name"])
    hook.insert_rows("t", [(2, "z")], target_fields=["id", "name"], replace=True)
    with db_server.connect(fresh_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, name FROM t ORDER BY id")
        assert cur.fetchall() == ((1, "a"), (2, "z"))


def test_hook_from_uri(db_server, fresh_db, monkeypatch) -> None:
    uri = (f"tidb://{quote(db_server.user, safe='')}:{quote(db_server.password, safe='')}"
           f"@{db_server.host}:{db_server.port}/{fresh_db}?status_port=10081&connect_timeout=5"
           f"&session_vars={quote(json.dumps({'wait_timeout': 1234}))}")
    monkeypatch.setenv("AIRFLOW_CONN_TIDB_URI_TEST", uri)
    hook = TiDBHook("tidb_uri_test")
    section = hook.get_tidb_section()
    assert (section.host, section.port, section.status_port, section.connect_timeout) == (
        db_server.host, db_server.port, 10081, 5.0)
    assert hook.get_first("SELECT DATABASE(), @@SESSION.wait_timeout") == (fresh_db, 1234)


def test_airflow_uri_round_trip_keeps_every_setting() -> None:
    hook = hook_for(host="tidb.example", port=4001, login="loader", password="p@ss/w:rd?#", schema="app",
                    extra={"status_port": 10090, "tls": "cluster", "ssl_ca": "/etc/ca.pem",
                           "session_vars": {"tidb_distsql_scan_concurrency": 4}})
    again = TiDBHook(connection=Connection(conn_id="again", uri=hook.connection.get_uri()))
    assert again.get_tidb_section() == hook.get_tidb_section()
    assert again.get_tidb_section().password == "p@ss/w:rd?#"
    assert again.database == "app"


def test_uri_extras_arrive_as_strings_and_are_typed() -> None:
    hook = TiDBHook(connection=Connection(
        conn_id="typed", uri="tidb://root@db:4000/?status_port=10080&read_timeout=7.5&ssl_verify=false"))
    section = hook.get_tidb_section()
    assert section.status_port == 10080 and section.read_timeout == 7.5 and section.tls == "skip-verify"


def test_sqlalchemy_uri_and_engine(db_server, tidb_conn_id, fresh_db) -> None:
    hook = TiDBHook(tidb_conn_id=tidb_conn_id, schema=fresh_db)
    uri = hook.get_uri()
    assert uri.startswith("mysql+pymysql://") and f":{db_server.port}/{fresh_db}" in uri
    from sqlalchemy import text

    with hook.get_sqlalchemy_engine().connect() as conn:
        assert conn.execute(text("SELECT DATABASE()")).scalar() == fresh_db


def test_defaults_follow_tidb_lightning() -> None:
    section = hook_for(host="tidb.internal").get_tidb_section()
    assert (section.port, section.user, section.password, section.status_port, section.tls) == (
        4000, "root", "", 10080, "")
    assert section.charset == "utf8mb4" and section.session_vars == {} and section.read_timeout is None


# One example per declared form field: a new field must be wired into the hook to pass.
FIELD_EXAMPLES = {
    "status_port": ("12345", "status_port", 12345),
    "tls": ("Preferred", "tls", "preferred"),
    "ssl_ca": ("/ca.pem", "ca_path", "/ca.pem"),
    "ssl_cert": ("/cert.pem", "cert_path", "/cert.pem"),
    "ssl_key": ("/key.pem", "key_path", "/key.pem"),
    "ssl_verify": (True, "tls", "cluster"),
    "charset": ("latin1", "charset", "latin1"),
    "connect_timeout": (3, "connect_timeout", 3.0),
    "read_timeout": ("7.5", "read_timeout", 7.5),
    "sql_mode": ("ANSI_QUOTES", "sql_mode", "ANSI_QUOTES"),
    "session_vars": ('{"tidb_mem_quota_query": 1024}', "session_vars", {"tidb_mem_quota_query": 1024}),
}


def test_every_form_field_is_read() -> None:
    assert set(FIELD_EXAMPLES) == set(TIDB_CONN_FIELDS)
    for extra, (value, attribute, expected) in FIELD_EXAMPLES.items():
        section = hook_for(host="h", extra={extra: value}).get_tidb_section()
        assert getattr(section, attribute) == expected, extra


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"tls": "always"}, "tls"),
        ({"status_port": "http"}, "status_port"),
        ({"connect_timeout": "soon"}, "connect_timeout"),
        ({"ssl_verify": "maybe"}, "ssl_verify"),
        ({"session_vars": "{not json"}, "session_vars"),
        ({"session_vars": "[1, 2]"}, "session_vars"),
        ({"ssl": {"ca": "/ca.pem", "capath": "/etc/ssl"}}, "ssl"),
    ],
)
def test_bad_extras_name_the_key(extra: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        hook_for(host="h", password="hunter2", extra=extra).get_tidb_section()
    assert caught.value.key == key
    assert "tidb_unit" in str(caught.value) and "hunter2" not in str(caught.value)


def test_tls_extras_reach_pymysql() -> None:
    hook = hook_for(host="h", extra={"ssl_ca": "/tls/ca.pem", "ssl_cert": "/tls/client.pem",
                                     "ssl_key": "/tls/client.key", "ssl_verify": "true"})
    args = connect_args(hook.get_tidb_section())
    assert (args["ssl_ca"], args["ssl_cert"], args["ssl_key"]) == (
        "/tls/ca.pem", "/tls/client.pem", "/tls/client.key")
    assert args["ssl_verify_cert"] is True and args["ssl_verify_identity"] is True


def test_ssl_object_and_explicit_tls_mode() -> None:
    hook = hook_for(host="h", extra={"ssl": json.dumps({"ca": "/tls/ca.pem", "verify": False})})
    args = connect_args(hook.get_tidb_section())
    assert args["ssl_ca"] == "/tls/ca.pem" and args["ssl_verify_cert"] is False
    # An explicit mode wins over the ssl_verify shortcut; "false" turns TLS off entirely.
    off = hook_for(host="h", extra={"tls": "false", "ssl_verify": True, "ssl_ca": "/tls/ca.pem"})
    assert not any(name.startswith("ssl") for name in connect_args(off.get_tidb_section()))


def test_no_tls_arguments_without_tls_extras() -> None:
    assert not any(name.startswith("ssl") for name in connect_args(hook_for(host="h").get_tidb_section()))


def test_test_connection_success(db_server) -> None:
    ok, message = hook_for(**server_fields(db_server)).test_connection()
    assert ok, message
    assert message.startswith("Connected to ") and f"{db_server.host}:{db_server.port}" in message


def test_test_connection_wrong_password(db_server) -> None:
    password = "not-the-password-0815"
    ok, message = hook_for(**server_fields(db_server, password=password)).test_connection()
    assert not ok
    assert "Access denied" in message and "check the login and password" in message
    assert password not in message


def test_test_connection_hides_a_password_the_server_echoes(db_server) -> None:
    """The server's text names the user; a password equal to the user name must not leak through it."""
    name = "tl_echo_probe"  # no such user on any test server, so the login fails whatever the server
    ok, message = hook_for(**server_fields(db_server, login=name, password=name)).test_connection()
    assert not ok and "Access denied" in message
    assert name not in message and "***" in message


def test_test_connection_unreachable_port() -> None:
    with closed_port() as port:
        ok, message = hook_for(host="127.0.0.1", port=port, login="root", password="s3cr3t-pw",
                               extra={"connect_timeout": 2}).test_connection()
    assert not ok
    assert f"Cannot reach 127.0.0.1:{port}" in message and "s3cr3t-pw" not in message


def test_test_connection_unknown_database(db_server) -> None:
    ok, message = hook_for(**server_fields(db_server, schema="no_such_db_for_tl_tests")).test_connection()
    assert not ok and "database does not exist" in message


def test_test_connection_reports_bad_extras_without_connecting() -> None:
    with closed_port() as port:
        ok, message = hook_for(host="127.0.0.1", port=port, extra={"tls": "always"}).test_connection()
    assert not ok and "'tls'" in message and "Cannot reach" not in message


def test_repr_never_shows_the_password() -> None:
    hook = hook_for(host="h", password="hunter2", schema="app")
    assert repr(hook) == "TiDBHook(tidb_conn_id='tidb_unit')"
    assert "hunter2" not in repr(hook.get_tidb_section())
    other = TiDBHook(tidb_conn_id="tidb_unit", connection=hook.connection, schema="other")
    assert repr(other) == "TiDBHook(tidb_conn_id='tidb_unit', schema='other')"


def test_airflow_2_form_matches_the_declared_form() -> None:
    behaviour = TiDBHook.get_ui_field_behaviour()
    assert behaviour["relabeling"] == TIDB_UI_FIELD_BEHAVIOUR["relabeling"]
    assert behaviour["hidden_fields"] == TIDB_UI_FIELD_BEHAVIOUR["hidden-fields"]
    assert behaviour["placeholders"] == TIDB_UI_FIELD_BEHAVIOUR["placeholders"]

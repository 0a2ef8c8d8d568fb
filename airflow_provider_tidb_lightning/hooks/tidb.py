"""The ``tidb`` connection type: an Airflow Connection turned into the engine's target settings.

The hook adds nothing to the import engine except the translation from a Connection (host,
port, login, password, schema, extras) to a :class:`~..config.model.TidbSection`; opening the
connection, TLS and session variables are :mod:`..connection`'s job, so the hook, the engine's
writers and the checkpoint store always connect the same way.
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import TYPE_CHECKING, Any, overload

import pymysql
from airflow.providers.common.sql.hooks.sql import DbApiHook
from sqlalchemy.engine import URL

from .. import TIDB_CONN_FIELDS, TIDB_UI_FIELD_BEHAVIOUR
from ..lightning.common.connection import connect
from ..lightning.common.server_info import ServerInfo, detect_server
from ..lightning.config.model import TidbSection, TLSMode
from ..lightning.errors import ConfigError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Connection
    from airflow.providers.openlineage.sqlparser import DatabaseInfo
    from sqlalchemy.engine import Engine

# MySQL client error codes the connection test explains in words.
_ER_ACCESS_DENIED = 1045
_ER_BAD_DB = 1049
_CR_CONN_HOST_ERROR = 2003
_MYSQL_PORT = 3306
_SSL_DICT_KEYS = {"ca": "ssl_ca", "cert": "ssl_cert", "key": "ssl_key", "verify": "ssl_verify"}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class TiDBHook(DbApiHook):
    """Connect to a TiDB (or MySQL / MariaDB) server described by an Airflow ``tidb`` connection.

    Extras (all optional): ``status_port`` (10080), ``tls`` (tidb-lightning's mode: "",
    "false", "preferred", "skip-verify", "cluster"), ``ssl_ca`` / ``ssl_cert`` / ``ssl_key``
    (paths) and ``ssl_verify`` (or the same four as an ``ssl`` object: ``ca``, ``cert``, ``key``,
    ``verify``), ``charset``, ``connect_timeout``, ``read_timeout``, ``sql_mode`` and
    ``session_vars`` (an object, or its JSON text). Values may be strings, as they are when the
    connection comes from a URI such as ``tidb://root:pw@tidb:4000/app?status_port=10080``.

    A ``mysql`` connection (MySqlHook's) works as well: its host, port (3306 when empty), login,
    password, schema and the extras above are read the same way, so a connection that already
    points MySqlHook at TiDB serves the import too.

    :param tidb_conn_id: the Airflow connection id (``tidb_default`` when omitted).
    :param schema: database to use instead of the connection's ``schema``.
    """

    conn_name_attr = "tidb_conn_id"
    default_conn_name = "tidb_default"
    conn_type = "tidb"
    hook_name = "TiDB"
    default_port = 4000
    supports_autocommit = True
    supports_executemany = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "escape_word_format": "`{}`"})
        # DbApiHook keeps ``schema`` private; the hook needs it to pick the default database.
        self.schema: str | None = kwargs.get("schema")

    def __repr__(self) -> str:
        schema = f", schema={self.schema!r}" if self.schema else ""
        return f"{type(self).__name__}({self.conn_name_attr}={self.get_conn_id()!r}{schema})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form on Airflow 2.11; Airflow 3.2+ reads it from ``get_provider_info()``."""
        return {
            "hidden_fields": list(TIDB_UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(TIDB_UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(TIDB_UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields of the connection form on Airflow 2.11, built from ``TIDB_CONN_FIELDS``.

        Airflow 3.2+ reads ``conn-fields`` from ``get_provider_info()`` and never calls this. Integers
        get an integer field; everything else is free text the hook parses (booleans stay text, so
        that an untouched field means "not set" rather than false).
        """
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import IntegerField, PasswordField, StringField
        from wtforms.validators import NumberRange, Optional

        widgets: dict[str, Any] = {}
        for name, field in TIDB_CONN_FIELDS.items():
            schema = field["schema"]
            kwargs: dict[str, Any] = {"description": field.get("description", ""), "validators": [Optional()]}
            if "default" in schema:
                kwargs["default"] = schema["default"]
            if "integer" in schema["type"]:
                if "minimum" in schema or "maximum" in schema:
                    kwargs["validators"].append(NumberRange(min=schema.get("minimum"), max=schema.get("maximum")))
                widgets[name] = IntegerField(lazy_gettext(field["label"]), widget=BS3TextFieldWidget(), **kwargs)
            elif schema.get("format") == "password":
                widgets[name] = PasswordField(lazy_gettext(field["label"]), widget=BS3PasswordFieldWidget(), **kwargs)
            else:
                widgets[name] = StringField(lazy_gettext(field["label"]), widget=BS3TextFieldWidget(), **kwargs)
        return widgets

    @property
    def database(self) -> str | None:
        """The default database: the hook's ``schema`` argument, else the connection's."""
        return self.schema or self.connection.schema or None

    def get_tidb_section(self) -> TidbSection:
        """The connection as the engine's ``[tidb]`` settings.

        Raises :class:`~..errors.ConfigError` naming the extra that cannot be read.
        """
        conn = self.connection
        extras = _Extras(conn.extra_dejson, f"Airflow connection {self.get_conn_id()!r}")
        section = TidbSection(
            host=conn.host or TidbSection.host,
            port=int(conn.port or self.port_default(conn)),
            user=conn.login or TidbSection.user,
            password=conn.password or "",
            status_port=extras.integer("status_port", TidbSection.status_port),
            ca_path=extras.ssl_text("ssl_ca"),
            cert_path=extras.ssl_text("ssl_cert"),
            key_path=extras.ssl_text("ssl_key"),
            tls=extras.tls_mode(),
            charset=extras.text("charset", None) or TidbSection.charset,
            connect_timeout=extras.number("connect_timeout", TidbSection.connect_timeout),
            read_timeout=extras.number("read_timeout", None),
            session_vars=extras.session_vars(),
        )
        sql_mode = extras.text("sql_mode", None)
        if sql_mode is not None:
            section.sql_mode = sql_mode
        return section

    def port_default(self, conn: Connection) -> int:
        """The port an empty port field means: MySQL's for a ``mysql`` connection, TiDB's otherwise."""
        return _MYSQL_PORT if conn.conn_type == "mysql" else self.default_port

    def get_openlineage_database_info(self, connection: Connection) -> DatabaseInfo:
        """MySqlHook's OpenLineage database info (``mysql://host:port``, information_schema columns).

        TiDB speaks MySQL's protocol and OpenLineage names it ``mysql`` as well; only the default
        port differs, so that a ``tidb`` connection without a port is named after port 4000.
        """
        from airflow.providers.mysql.hooks.mysql import MySqlHook

        info = MySqlHook.get_openlineage_database_info(self, connection)
        port = self.port_default(connection)
        info.authority = DbApiHook.get_openlineage_authority_part(connection, default_port=port)
        return info

    def get_openlineage_database_dialect(self, connection: Connection) -> str:
        """OpenLineage's SQL dialect for TiDB, as for MySQL."""
        return "mysql"

    def get_openlineage_default_schema(self) -> str | None:
        """No schemas below databases, as in MySQL."""
        return None

    def get_conn(self) -> pymysql.Connection:
        """Open an autocommit PyMySQL connection with the connection's TLS and session settings."""
        return connect(self.get_tidb_section(), database=self.database)

    def set_autocommit(self, conn: pymysql.Connection, autocommit: bool) -> None:
        """PyMySQL's ``autocommit`` is a method, not the attribute ``DbApiHook`` would assign."""
        conn.autocommit(autocommit)

    def get_autocommit(self, conn: pymysql.Connection) -> bool:
        """Read the flag through PyMySQL's getter (see :meth:`set_autocommit`)."""
        return conn.get_autocommit()

    def get_server_info(self) -> ServerInfo:
        """Which server (TiDB, MySQL, MariaDB) and version the connection reaches."""
        with closing(self.get_conn()) as conn:
            return detect_server(conn)

    @property
    def sqlalchemy_url(self) -> URL:
        """A SQLAlchemy URL for the same server (PyMySQL driver); TLS is applied by the engine's creator."""
        section = self.get_tidb_section()
        return URL.create(
            "mysql+pymysql",
            username=section.user,
            password=section.password or None,
            host=section.host,
            port=section.port,
            database=self.database,
            query={"charset": section.charset},
        )

    def get_uri(self) -> str:
        """The SQLAlchemy URI (``mysql+pymysql://...``), as ``MySqlHook`` returns one.

        Airflow's own ``tidb://`` form of the connection is ``hook.connection.get_uri()``.
        """
        return self.sqlalchemy_url.render_as_string(hide_password=False)

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Engine:
        """An engine whose connections come from :meth:`get_conn`, so TLS and session variables apply."""
        return super().get_sqlalchemy_engine({"creator": self.get_conn, **(engine_kwargs or {})})

    def test_connection(self) -> tuple[bool, str]:  # type: ignore[override]  # DbApiHook says None; the UI wants this
        """Connect once and say which server answered, or why it did not, never showing the password."""
        try:
            section = self.get_tidb_section()
        except ConfigError as exc:
            return False, str(exc)
        try:
            with closing(connect(section, database=self.database)) as conn:
                info = detect_server(conn)
        except Exception as exc:  # the UI shows the message; any failure is a failed test
            return False, _redact(_explain(exc, section), section.password)
        return True, _redact(f"Connected to {info} at {section.host}:{section.port} as {section.user}",
                             section.password)


def _explain(exc: Exception, section: TidbSection) -> str:
    """Turn a connection failure into a sentence that says what to check."""
    where = f"{section.host}:{section.port}"
    code = exc.args[0] if isinstance(exc, pymysql.err.MySQLError) and exc.args else None
    detail = exc.args[1] if code is not None and len(exc.args) > 1 else str(exc)
    if code == _ER_ACCESS_DENIED:
        return f"Access denied for user {section.user!r} at {where}: check the login and password ({detail})"
    if code == _CR_CONN_HOST_ERROR:
        return f"Cannot reach {where}: check the host and port and that the server is running ({detail})"
    if code == _ER_BAD_DB:
        return f"Connected to {where}, but the default database does not exist ({detail})"
    return f"Cannot connect to {where} as {section.user!r}: {type(exc).__name__}: {detail}"


def _redact(message: str, password: str) -> str:
    """Remove the password even where the server's own text happens to contain it."""
    return message.replace(password, "***") if password else message


class _Extras:
    """Typed reads of a connection's extras; a URI delivers every value as a string."""

    def __init__(self, extras: dict[str, Any], source: str) -> None:
        self.source = source
        self.values = dict(extras)
        ssl = self._json("ssl", self._get("ssl"))
        if ssl is None:
            return
        if not isinstance(ssl, dict):
            raise self.error("ssl", "must be an object with ca, cert, key and verify")
        unknown = sorted(set(ssl) - set(_SSL_DICT_KEYS))
        if unknown:
            raise self.error("ssl", f"has unknown keys {unknown}; expected {sorted(_SSL_DICT_KEYS)}")
        for key, flat in _SSL_DICT_KEYS.items():
            if key in ssl:
                self.values.setdefault(flat, ssl[key])

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"extra {key!r} {message}", key=key, source=self.source)

    def _get(self, key: str) -> Any:
        value = self.values.get(key)
        return None if value == "" else value

    def text(self, key: str, default: str | None) -> str | None:
        value = self._get(key)
        return default if value is None else str(value)

    def ssl_text(self, key: str) -> str:
        return self.text(key, "") or ""

    def integer(self, key: str, default: int) -> int:
        value = self._get(key)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise self.error(key, f"must be an integer, got {value!r}") from None

    @overload
    def number(self, key: str, default: float) -> float: ...

    @overload
    def number(self, key: str, default: None) -> float | None: ...

    def number(self, key: str, default: float | None) -> float | None:
        value = self._get(key)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.error(key, f"must be a number of seconds, got {value!r}") from None

    def boolean(self, key: str) -> bool | None:
        value = self._get(key)
        if value is None or isinstance(value, bool):
            return value
        if str(value).lower() in _TRUE:
            return True
        if str(value).lower() in _FALSE:
            return False
        raise self.error(key, f"must be true or false, got {value!r}")

    def tls_mode(self) -> TLSMode:
        """``tls`` as given, else derived from ``ssl_verify`` (true = verify everything)."""
        mode = self.text("tls", None)
        if mode is None:
            verify = self.boolean("ssl_verify")
            if verify is None:
                return TLSMode.DEFAULT
            return TLSMode.CLUSTER if verify else TLSMode.SKIP_VERIFY
        try:
            return TLSMode(mode.lower())
        except ValueError:
            expected = ", ".join(repr(m.value) for m in TLSMode)
            raise self.error("tls", f"must be one of {expected}, got {mode!r}") from None

    def session_vars(self) -> dict[str, str | int]:
        value = self._json("session_vars", self._get("session_vars"))
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error("session_vars", "must be an object of variable names to values")
        return dict(value)

    def _json(self, key: str, value: Any) -> Any:
        """Objects arrive as JSON text from URIs and environment variables."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise self.error(key, "is not valid JSON") from None

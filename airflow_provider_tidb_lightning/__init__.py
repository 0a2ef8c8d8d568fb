"""Apache Airflow provider for TiDB Lightning's TiDB backend (logical import).

Importing this package must stay cheap and must not import Airflow: Airflow calls
:func:`get_provider_info` through the ``apache_airflow_provider`` entry point while it discovers
providers, and the engine modules are used without Airflow at all.
"""

from __future__ import annotations

from typing import Any

from .lightning.config.model import TLSMode

__version__ = "0.1.0"

_MODULE = "airflow_provider_tidb_lightning"
_INTEGRATION = "TiDB Lightning"

# The connection form, declared as data so Airflow 3.2+ builds the form without importing the hook.
# The hook's Airflow 2.11 form methods read the same declarations, so the two never drift apart.
TIDB_UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": [],
    "relabeling": {"schema": "Default database", "login": "User"},
    "placeholders": {
        "host": "127.0.0.1",
        "port": "4000",
        "login": "root",
        "schema": "database used when none is given (optional)",
        "extra": '{"status_port": 10080, "tls": "cluster", "ssl_ca": "/etc/tidb/ca.pem"}',
    },
}

TIDB_CONN_FIELDS: dict[str, Any] = {
    "status_port": {
        "label": "Status port",
        "description": "TiDB's HTTP status port, used to read server status (tidb.status-port).",
        "schema": {"type": ["integer", "null"], "default": 10080, "minimum": 1, "maximum": 65535},
    },
    "tls": {
        "label": "TLS mode",
        "description": "tidb-lightning's tidb.tls: empty = TLS only when certificates are given; "
        "'cluster' verifies the server certificate and host name.",
        "schema": {
            "type": ["string", "null"],
            "default": "",
            "enum": [mode.value for mode in TLSMode],
        },
    },
    "ssl_ca": {
        "label": "CA certificate path",
        "description": "PEM file of the CA that signed the server certificate (tidb.ca-path).",
        "schema": {"type": ["string", "null"]},
    },
    "ssl_cert": {
        "label": "Client certificate path",
        "description": "PEM client certificate for mutual TLS (tidb.cert-path).",
        "schema": {"type": ["string", "null"]},
    },
    "ssl_key": {
        "label": "Client key path",
        "description": "PEM private key file of the client certificate (tidb.key-path).",
        "schema": {"type": ["string", "null"]},
    },
    "ssl_verify": {
        "label": "Verify server certificate",
        "description": "Shortcut when 'TLS mode' is empty: true = 'cluster', false = 'skip-verify'.",
        "schema": {"type": ["boolean", "null"]},
    },
    "charset": {
        "label": "Character set",
        "description": "Connection character set.",
        "schema": {"type": ["string", "null"], "default": "utf8mb4"},
    },
    "connect_timeout": {
        "label": "Connect timeout (s)",
        "schema": {"type": ["number", "null"], "default": 10, "minimum": 0},
    },
    "read_timeout": {
        "label": "Read timeout (s)",
        "description": "Empty = wait as long as the server takes.",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "sql_mode": {
        "label": "SQL mode",
        "description": "Session sql_mode used while importing (tidb.sql-mode).",
        "schema": {"type": ["string", "null"]},
    },
    "session_vars": {
        "label": "Session variables",
        "description": 'Set on every connection, e.g. {"tidb_distsql_scan_concurrency": 4}.',
        "schema": {"type": ["object", "null"]},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's ProvidersManager (the ``apache_airflow_provider`` entry point).

    ``package-name`` must equal the normalised distribution name, or ``airflow providers list``
    refuses the provider.
    """
    return {
        "package-name": "airflow-provider-tidb-lightning",
        "name": "TiDB Lightning",
        "description": "Import mydumper / Dumpling dump directories into TiDB or MySQL with "
        "TiDB Lightning's TiDB backend (logical import: INSERT, REPLACE or INSERT IGNORE), "
        "resumable through checkpoints.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.pingcap.com/tidb/stable/tidb-lightning-backends",
                "tags": ["software"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "tidb",
                "hook-class-name": f"{_MODULE}.hooks.tidb.TiDBHook",
                "hook-name": "TiDB",
                "ui-field-behaviour": TIDB_UI_FIELD_BEHAVIOUR,
                "conn-fields": TIDB_CONN_FIELDS,
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{_MODULE}.hooks.tidb"]}],
        "operators": [
            {"integration-name": _INTEGRATION,
             "python-modules": [f"{_MODULE}.operators.lightning", f"{_MODULE}.operators.shared_import"]}
        ],
        "sensors": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": [f"{_MODULE}.sensors.target", f"{_MODULE}.sensors.dump"],
            }
        ],
        "triggers": [{"integration-name": _INTEGRATION, "python-modules": [f"{_MODULE}.triggers.target"]}],
    }

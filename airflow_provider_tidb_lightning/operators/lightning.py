"""Run one TiDB Lightning (TiDB backend) import as an Airflow task.

The operator is a thin shell over :func:`airflow_provider_tidb_lightning.lightning.importer.run.run_import`: it
builds the task configuration, points it at the Airflow connection, and ties the import's
checkpoint to the task instance so that Airflow's retries resume the import instead of starting it
again, while the next DAG run (a new ``run_id``) starts from scratch.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

try:
    from airflow.providers.common.compat.sdk import (
        AirflowException,
        AirflowFailException,
        BaseOperator,
        Context,
    )
except ImportError:  # an older common-compat without these names: Airflow 3's own SDK has them
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

from ..hooks.object_storage import source_filesystem
from ..hooks.tidb import TiDBHook
from ..lightning.common.failpoint import fault_point
from ..lightning.config.load import load_task_config
from ..lightning.config.model import TidbSection
from ..lightning.config.storage_url import mask_url
from ..lightning.errors import ConfigError, LightningError
from ..lightning.importer.run import run_import

# The checkpoint lives on the target ("mysql" driver, empty DSN = the [tidb] server) rather than in
# a local file, because a retry may run on a different worker than the try that failed.
_CHECKPOINT_OVERRIDES: dict[str, Any] = {
    "checkpoint.enable": True,
    "checkpoint.driver": "mysql",
    "checkpoint.dsn": "",
}


class LightningImportOperator(BaseOperator):
    """Import a mydumper / Dumpling dump directory into TiDB or MySQL with TiDB Lightning's TiDB backend.

    The configuration is built in three layers, later ones winning: the task TOML (``config``),
    then ``config_overrides``, then the explicit arguments below. Where the server is and how to
    log in (host, port, user, password, TLS, status port) always comes from the Airflow connection,
    never from the TOML, so credentials stay in Airflow's connection store; how the import session
    behaves (``sql-mode``, ``session-vars``, ``max-allowed-packet``) comes from the TOML unless the
    connection's extras set it.

    :param tidb_conn_id: Airflow connection of type ``tidb`` (or any MySQL-style connection).
    :param config: path to a tidb-lightning task TOML, or a dict in the same shape
        (``{"mydumper": {"data-source-dir": ...}}``). Templated; a path is not read as a template.
    :param data_source_dir: the dump directory (``mydumper.data-source-dir``). Templated.
    :param on_duplicate: ``"replace"``, ``"ignore"`` or ``"error"`` (``tikv-importer.on-duplicate``).
    :param routes: table routing rules as in ``[[routes]]``, e.g.
        ``[{"schema-pattern": "app", "target-schema": "app_copy"}]``. Templated.
    :param filters: table filter (``mydumper.filter``), e.g. ``["app.orders", "app.customer"]``.
        Templated; a natural argument to ``.expand()`` for one mapped import per table group.
    :param refresh: ``"swap"`` loads every table into a shadow table and swaps them all in with one
        atomic ``RENAME TABLE`` at the end (``[refresh] mode``; see docs/refresh.md); ``"none"``
        loads into the live tables.
    :param config_overrides: dotted TOML keys to values, e.g.
        ``{"lightning.max-error.type": 10}``. Templated.
    :param source_conn_id: Airflow connection holding the credentials of an object storage source
        (``s3://``, ``gcs://``, ``azure://`` in ``data_source_dir``), e.g. ``aws_default``; read through
        Airflow's ``ObjectStoragePath``. Without it, the URL's own query parameters (or the
        environment's default credentials) are used.

    Returns the import summary (rows, bytes, tables, duration) to XCom.
    """

    template_fields: Sequence[str] = ("data_source_dir", "config", "config_overrides", "filters", "routes")
    template_fields_renderers = {"config_overrides": "json", "routes": "json", "filters": "json"}

    def __init__(
        self,
        *,
        tidb_conn_id: str = "tidb_default",
        config: str | dict[str, Any] | None = None,
        data_source_dir: str | None = None,
        on_duplicate: str | None = None,
        routes: list[dict[str, str]] | None = None,
        filters: list[str] | None = None,
        config_overrides: dict[str, Any] | None = None,
        refresh: str | None = None,
        source_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tidb_conn_id = tidb_conn_id
        self.config = config
        self.data_source_dir = data_source_dir
        self.on_duplicate = on_duplicate
        self.routes = routes
        self.filters = filters
        self.config_overrides = config_overrides
        self.refresh = refresh
        self.source_conn_id = source_conn_id
        # Created per execution in execute(): a threading.Event cannot be deep-copied with the task.
        self._cancel: threading.Event | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        checkpoint_task_id = f"{ti.dag_id}.{ti.task_id}.{ti.run_id}.{ti.map_index}"
        try:
            config = load_task_config(self.config, overrides=self._overrides())
            config.tidb = _target_from_connection(config.tidb, TiDBHook(tidb_conn_id=self.tidb_conn_id))
            filesystem = source_filesystem(config.mydumper.data_source_dir, self.source_conn_id)
        except ConfigError as exc:
            # A configuration mistake fails the same way on every try: do not spend retries on it.
            raise AirflowFailException(str(exc)) from exc
        self.log.info(
            "Importing %s into %s:%s (on-duplicate %s, checkpoint %s)",
            mask_url(config.mydumper.data_source_dir),
            config.tidb.host,
            config.tidb.port,
            config.duplicate_mode,
            checkpoint_task_id,
        )
        self._cancel = threading.Event()
        try:
            # Airflow 3's task logger has logging.Logger's methods without being one.
            # keep_summary: a retry after a finished import (the worker died before Airflow recorded
            # the success) returns the recorded summary and writes nothing (docs/checkpoints.md).
            summary = run_import(
                config, task_id=checkpoint_task_id, cancel=self._cancel, logger=self.log,  # type: ignore[arg-type]
                filesystem=filesystem,
                keep_summary=True,
            )
            fault_point("import-returned")
        except ConfigError as exc:
            raise AirflowFailException(str(exc)) from exc
        except LightningError as exc:
            raise AirflowException(str(exc)) from exc
        self.log.info("Imported %d rows", summary.total_rows)
        return summary.to_dict()

    def on_kill(self) -> None:
        """Ask the running import to stop at its next consistent point (it then raises ImportCancelled)."""
        if self._cancel is not None:
            self._cancel.set()

    def _overrides(self) -> dict[str, Any]:
        """The dotted-key overrides applied on top of the TOML, in increasing precedence."""
        overrides: dict[str, Any] = dict(self.config_overrides or {})
        explicit = {
            "mydumper.data-source-dir": self.data_source_dir,
            "tikv-importer.on-duplicate": self.on_duplicate,
            "mydumper.filter": self.filters,
            "routes": self.routes,
            "refresh.mode": self.refresh,
        }
        overrides.update({key: value for key, value in explicit.items() if value is not None})
        overrides.update(_CHECKPOINT_OVERRIDES)
        return overrides


def _target_from_connection(from_config: TidbSection, hook: TiDBHook) -> TidbSection:
    """The connection's ``[tidb]`` settings, with the task file's session behaviour where the connection is silent."""
    target = hook.get_tidb_section()
    if target.sql_mode == TidbSection.sql_mode:
        target.sql_mode = from_config.sql_mode
    target.session_vars = {**from_config.session_vars, **target.session_vars}
    target.max_allowed_packet = from_config.max_allowed_packet
    return target

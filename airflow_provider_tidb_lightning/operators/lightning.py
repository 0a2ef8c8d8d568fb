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

import pymysql
from airflow.providers.common.compat.assets import AssetAlias

from ..hooks.object_storage import source_filesystem
from ..hooks.tidb import TiDBHook
from ..lightning.common.failpoint import fault_point
from ..lightning.config.load import load_task_config
from ..lightning.config.model import TidbSection
from ..lightning.config.storage_url import mask_url
from ..lightning.errors import ConfigError, LightningError
from ..lightning.importer.dry_run import dry_run
from ..lightning.importer.run import run_import
from ..lightning.mydump.discovery import discover
from ..lightning.mydump.storage import open_storage
from .lineage import (
    ImportedTable,
    asset_event_extra,
    ensure_alias_registered,
    imported_tables,
    openlineage_datasets,
    table_asset,
)

# The checkpoint lives on the target ("mysql" driver, empty DSN = the [tidb] server) rather than in
# a local file, because a retry may run on a different worker than the try that failed.
_CHECKPOINT_OVERRIDES: dict[str, Any] = {
    "checkpoint.enable": True,
    "checkpoint.driver": "mysql",
    "checkpoint.dsn": "",
}

# A shared import: claims and leases; the finished checkpoint stays, so that a worker starting (or retried)
# after the others finished finds the import done instead of starting it over.
_SHARED_OVERRIDES: dict[str, Any] = {"checkpoint.shared": True, "checkpoint.keep-after-success": "origin"}


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
    :param on_duplicate: ``"replace"``, ``"ignore"`` or ``"error"``: the ``[conflict] strategy``, with that
        strategy's ``threshold`` unless the configuration sets one.
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
    :param share_import: one import of the DAG run shared by every mapped instance of this task (and by
        their retries): the checkpoint key leaves out the map index, chunks are claimed with leases
        (``[checkpoint] shared``), and the finished checkpoint is kept for workers that start or retry
        later (:class:`~.shared_import.LightningSharedImportFinishOperator` reports and removes it).
        See docs/scale-out.md.
    :param worker: which worker of a shared import this is; a label for logs, and what
        ``.expand(worker=range(n))`` maps over.
    :param asset_alias: name of the asset alias (``DatasetAlias`` on Airflow 2.11) through which a
        successful import emits one asset event per target table, ``mysql://host:port/db/table``
        with ``{"rows": ..., "bytes": ...}`` as extra; default ``tidb-lightning.<task_id>``. The
        tables are known only once the dump is read, hence an alias rather than fixed outlets;
        downstream DAGs schedule on the table assets themselves.
    :param dry_run: plan the import and run the pre-checks without writing anything (``--dry-run``):
        the plan goes to the log and to XCom, no asset event is emitted, and the task fails (without
        retries) when a pre-check fails.

    Returns the import summary (rows, bytes, tables, duration) to XCom. With
    apache-airflow-providers-openlineage installed, the task also reports the dump's files as
    inputs and the target tables (schema, rows, bytes) as outputs.
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
        share_import: bool = False,
        worker: int | None = None,
        asset_alias: str | None = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> None:
        self.asset_alias = asset_alias or f"tidb-lightning.{kwargs.get('task_id')}"
        outlets = kwargs.pop("outlets", None) or []
        kwargs["outlets"] = [*(outlets if isinstance(outlets, list) else [outlets]), AssetAlias(self.asset_alias)]
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
        self.share_import = share_import
        self.worker = worker
        # Not ``self.dry_run``: BaseOperator.dry_run() renders templates for `airflow tasks test --dry-run`.
        self.dry_run_import = dry_run
        # Created per execution in execute(): a threading.Event cannot be deep-copied with the task.
        self._cancel: threading.Event | None = None
        # What the last successful execute() imported, for get_openlineage_facets_on_complete().
        self._imported: list[ImportedTable] = []
        self._source_dir = ""

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        checkpoint_task_id = (shared_checkpoint_key(ti.dag_id, ti.task_id, ti.run_id) if self.share_import
                              else f"{ti.dag_id}.{ti.task_id}.{ti.run_id}.{ti.map_index}")
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
        if self.dry_run_import:
            return self._dry_run(config, checkpoint_task_id, filesystem)
        self._cancel = threading.Event()
        try:
            # Airflow 3's task logger has logging.Logger's methods without being one.
            # keep_summary: a retry after a finished import (the worker died before Airflow recorded
            # the success) returns the recorded summary and writes nothing (docs/checkpoints.md). A shared
            # import keeps its whole checkpoint instead ("origin"), so each late worker reports its own 0 rows.
            summary = run_import(
                config, task_id=checkpoint_task_id, cancel=self._cancel, logger=self.log,  # type: ignore[arg-type]
                filesystem=filesystem,
                keep_summary=not self.share_import,
            )
            fault_point("import-returned")
        except ConfigError as exc:
            raise AirflowFailException(str(exc)) from exc
        except LightningError as exc:
            raise AirflowException(str(exc)) from exc
        self.log.info("Imported %d rows", summary.total_rows)
        self._imported = self._describe(config, summary, filesystem)
        self._source_dir = config.mydumper.data_source_dir
        self._emit_asset_events(context, config.tidb)
        return summary.to_dict()

    def _dry_run(self, config: Any, checkpoint_task_id: str, filesystem: Any) -> dict[str, Any]:
        try:
            report = dry_run(config, task_id=checkpoint_task_id, filesystem=filesystem)
        except ConfigError as exc:
            raise AirflowFailException(str(exc)) from exc
        except LightningError as exc:
            raise AirflowException(str(exc)) from exc
        self.log.info("%s", report.to_text())
        if report.problems:
            raise AirflowFailException(f"dry run: {len(report.problems)} pre-check(s) failed: "
                                       + "; ".join(report.problems))
        return report.to_dict()

    def _describe(self, config: Any, summary: Any, filesystem: Any) -> list[ImportedTable]:
        """The imported tables for asset events and lineage; a failure here does not fail the import.

        Failing would send a finished import into a retry; its events are worth less than that.
        """
        try:
            storage = open_storage(config.mydumper.data_source_dir, filesystem=filesystem)
            return imported_tables(config, discover(config.mydumper, config.routes, storage), summary)
        except (LightningError, pymysql.MySQLError, OSError) as exc:
            self.log.warning("The import succeeded, but its tables could not be described for asset events "
                             "and lineage: %s", exc)
            return []

    def _emit_asset_events(self, context: Context, target: TidbSection) -> None:
        """One event per target table through the alias (``outlet_events`` works alike on 2.11 and 3.x).

        A context without ``outlet_events`` is a direct ``execute()`` call outside a task run: no events.
        """
        if "outlet_events" not in context:
            return
        ensure_alias_registered(self.asset_alias)
        events = context["outlet_events"][AssetAlias(self.asset_alias)]
        for table in self._imported:
            events.add(table_asset(target.host, target.port, table), extra=asset_event_extra(table))
        self.log.info("Emitted %d asset event(s) through alias %r", len(self._imported), self.asset_alias)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the dump's data files in, the target tables (schema, rows, bytes) out.

        Called by apache-airflow-providers-openlineage, which is then installed; the namespace of
        the tables is the connection's ``get_openlineage_database_info``, as for MySqlHook.
        """
        from airflow.providers.openlineage.extractors import OperatorLineage

        hook = TiDBHook(tidb_conn_id=self.tidb_conn_id)
        info = hook.get_openlineage_database_info(hook.connection)
        inputs, outputs = openlineage_datasets(f"{info.scheme}://{info.authority}", self._imported, self._source_dir)
        return OperatorLineage(inputs=inputs, outputs=outputs)

    def on_kill(self) -> None:
        """Ask the running import to stop at its next consistent point (it then raises ImportCancelled)."""
        if self._cancel is not None:
            self._cancel.set()

    def _overrides(self) -> dict[str, Any]:
        """The dotted-key overrides applied on top of the TOML, in increasing precedence."""
        overrides: dict[str, Any] = dict(self.config_overrides or {})
        explicit = {
            "mydumper.data-source-dir": self.data_source_dir,
            "conflict.strategy": self.on_duplicate,
            "mydumper.filter": self.filters,
            "routes": self.routes,
            "refresh.mode": self.refresh,
        }
        overrides.update({key: value for key, value in explicit.items() if value is not None})
        overrides.update(_CHECKPOINT_OVERRIDES)
        if self.share_import:
            overrides.update(_SHARED_OVERRIDES)
        return overrides


def shared_checkpoint_key(dag_id: str, task_id: str, run_id: str) -> str:
    """The checkpoint of a shared import: one per DAG run and task, the same for every map index and try."""
    return f"{dag_id}.{task_id}.{run_id}"


def _target_from_connection(from_config: TidbSection, hook: TiDBHook) -> TidbSection:
    """The connection's ``[tidb]`` settings, with the task file's session behaviour where the connection is silent."""
    target = hook.get_tidb_section()
    if target.sql_mode == TidbSection.sql_mode:
        target.sql_mode = from_config.sql_mode
    target.session_vars = {**from_config.session_vars, **target.session_vars}
    target.max_allowed_packet = from_config.max_allowed_packet
    return target

"""Wait until the import target can take an import.

An import started against a server that is still booting, or a database a previous step has
not created yet, fails after minutes of retries; a sensor in front of it fails fast or waits
cheaply instead. ``deferrable=True`` hands the wait to the triggerer so no worker slot is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

try:
    from airflow.providers.common.compat.sdk import AirflowException, BaseSensorOperator, Context
except ImportError:  # an older common-compat without these names: Airflow 3's own SDK has them
    from airflow.sdk import BaseSensorOperator, Context
    from airflow.sdk.exceptions import AirflowException

from ..hooks.readiness import target_not_ready_reason
from ..hooks.tidb import TiDBHook
from ..triggers.target import TiDBTargetReadyTrigger


class TiDBTargetReadySensor(BaseSensorOperator):
    """Succeed once the TiDB/MySQL server behind ``tidb_conn_id`` is ready for an import.

    Always checks that the SQL port accepts a login and answers ``SELECT 1``. Optionally:

    :param check_status_port: also require TiDB's HTTP ``/status`` (the connection's
        ``status_port`` extra) to answer 200; leave off for MySQL/MariaDB targets, which have none.
    :param schema: also require this database to exist.
    :param empty_table: also require this table (``"table"`` in ``schema``, or ``"db.table"``) to
        exist and be empty, e.g. to refuse importing on top of data.
    :param deferrable: wait in the triggerer (:class:`TiDBTargetReadyTrigger`) instead of a worker,
        after one check in the worker: a target that is ready already never defers.
    """

    template_fields: Sequence[str] = ("schema", "empty_table")

    def __init__(
        self,
        *,
        tidb_conn_id: str = "tidb_default",
        check_status_port: bool = False,
        schema: str | None = None,
        empty_table: str | None = None,
        deferrable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.tidb_conn_id = tidb_conn_id
        self.check_status_port = check_status_port
        self.schema = schema
        self.empty_table = empty_table
        self.deferrable = deferrable

    def poke(self, context: Context) -> bool:
        tidb = TiDBHook(tidb_conn_id=self.tidb_conn_id).get_tidb_section()
        reason = target_not_ready_reason(
            tidb,
            check_status_port=self.check_status_port,
            schema=self.schema,
            empty_table=self.empty_table,
        )
        if reason is not None:
            self.log.info("Target not ready: %s", reason)
            return False
        self.log.info("Target %s:%s is ready", tidb.host, tidb.port)
        return True

    def execute(self, context: Context) -> None:
        if not self.deferrable:
            super().execute(context)
            return
        # Check once before deferring: a ready target (the usual case) then costs no deferral, and no
        # deferral that fires a moment later, which raced with Airflow 3.3.2's scheduler into a retry.
        if self.poke(context):
            return
        self.defer(
            trigger=TiDBTargetReadyTrigger(
                self.tidb_conn_id,
                check_status_port=self.check_status_port,
                schema=self.schema,
                empty_table=self.empty_table,
                poke_interval=self.poke_interval,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        """Resume after the trigger fired: succeed on its success event, fail with its message otherwise."""
        if event.get("status") != "success":
            raise AirflowException(f"TiDB target check failed: {event.get('message')}")
        self.log.info("%s", event.get("message"))

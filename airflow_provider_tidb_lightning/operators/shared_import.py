"""The finish task of an import shared by mapped workers: the whole import's rows, then its checkpoint removed.

The workers (:class:`~.lightning.LightningImportOperator` with ``share_import=True``) keep the
finished checkpoint, so that a worker that starts or is retried after the others finished finds
the import done rather than starting it over. Once every worker succeeded this task reads what the
whole import wrote (every worker and every try) from the checkpoint, returns it to XCom, and
removes the checkpoint of the DAG run.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any

try:
    from airflow.providers.common.compat.sdk import AirflowException, BaseOperator, Context
except ImportError:  # an older common-compat without these names: Airflow 3's own SDK has them
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.exceptions import AirflowException

from ..hooks.tidb import TiDBHook
from ..lightning.checkpoints import MySQLStore
from ..lightning.common.connection import connect
from .lightning import shared_checkpoint_key


class LightningSharedImportFinishOperator(BaseOperator):
    """Report and clean up the shared import made by the task ``import_task_id`` in this DAG run.

    :param import_task_id: the task id of the mapped ``LightningImportOperator(share_import=True)``.
    :param tidb_conn_id: the workers' Airflow connection (the checkpoint lives on the target).
    :param checkpoint_schema: ``[checkpoint] schema`` of the workers' configuration.
    :param keep_checkpoint: leave the checkpoint in place (to inspect it with ``tidb-lightning-py-ctl``).

    Returns ``{"task_id", "import_total_rows", "tables": {table: rows}}`` to XCom; fails when a chunk
    is unfinished (a worker failed) or no checkpoint exists for the run.
    """

    template_fields: Sequence[str] = ("import_task_id", "checkpoint_schema")

    def __init__(self, *, import_task_id: str, tidb_conn_id: str = "tidb_default",
                 checkpoint_schema: str = "tidb_lightning_checkpoint", keep_checkpoint: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.import_task_id = import_task_id
        self.tidb_conn_id = tidb_conn_id
        self.checkpoint_schema = checkpoint_schema
        self.keep_checkpoint = keep_checkpoint

    def execute(self, context: Context) -> dict[str, Any]:
        ti = context["ti"]
        key = shared_checkpoint_key(ti.dag_id, self.import_task_id, ti.run_id)
        tidb = TiDBHook(tidb_conn_id=self.tidb_conn_id).get_tidb_section()
        with closing(MySQLStore(lambda: connect(tidb), self.checkpoint_schema)) as store:
            outlook = store.outlook(key)
            if outlook is None:
                raise AirflowException(f"no checkpoint {key!r} in schema {self.checkpoint_schema!r}: did the "
                                       f"{self.import_task_id!r} workers run with share_import=True?")
            if outlook.unfinished:
                raise AirflowException(f"shared import {key!r}: {outlook.unfinished} chunk(s) are not finished; "
                                       f"retry the failed {self.import_task_id!r} workers first")
            if not self.keep_checkpoint:
                store.remove(key)
        total = sum(outlook.rows.values())
        self.log.info("Shared import %s wrote %d rows in %d table(s)", key, total, len(outlook.rows))
        return {"task_id": key, "import_total_rows": total, "tables": dict(sorted(outlook.rows.items()))}

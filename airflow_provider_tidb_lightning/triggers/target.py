"""The trigger behind ``TiDBTargetReadySensor(deferrable=True)``.

A deferred sensor frees its worker slot while the triggerer polls the target; this trigger is
that poll. It runs the same readiness check as the sensor's poke mode
(:func:`~airflow_provider_tidb_lightning.hooks.readiness.target_not_ready_reason`) in a worker
thread through ``asgiref.sync.sync_to_async``, because PyMySQL and urllib block and the
triggerer's event loop is shared by every deferred task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from ..hooks.readiness import target_not_ready_reason
from ..hooks.tidb import TiDBHook
from ..lightning.config.model import TidbSection


class TiDBTargetReadyTrigger(BaseTrigger):
    """Fire once the TiDB/MySQL target behind ``tidb_conn_id`` is ready for an import.

    Yields exactly one event: ``{"status": "success", "message": ...}`` when ready, or
    ``{"status": "error", "message": ...}`` when the check itself cannot run (unknown connection,
    bad arguments). Not being ready yet is neither: the trigger waits ``poke_interval`` seconds
    and checks again, with the connection as it is then (a password or host corrected in the
    meantime counts); the sensor's ``timeout`` bounds the whole wait.
    """

    def __init__(
        self,
        tidb_conn_id: str,
        *,
        check_status_port: bool = False,
        schema: str | None = None,
        empty_table: str | None = None,
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # BaseTrigger.__init__ is not annotated
        self.tidb_conn_id = tidb_conn_id
        self.check_status_port = check_status_port
        self.schema = schema
        self.empty_table = empty_table
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and constructor arguments, so the triggerer can rebuild this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "tidb_conn_id": self.tidb_conn_id,
                "check_status_port": self.check_status_port,
                "schema": self.schema,
                "empty_table": self.empty_table,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the target is ready, then yield one event."""
        try:
            while True:
                # The connection is read again at every check: one fixed while the task waits is used next.
                tidb = await sync_to_async(self._tidb_section)()
                reason = await sync_to_async(target_not_ready_reason)(
                    tidb,
                    check_status_port=self.check_status_port,
                    schema=self.schema,
                    empty_table=self.empty_table,
                )
                if reason is None:
                    break
                self.log.info("Target not ready: %s; checking again in %s s", reason, self.poke_interval)
                await asyncio.sleep(self.poke_interval)
        except Exception as exc:
            yield TriggerEvent({"status": "error", "message": f"{type(exc).__name__}: {exc}"})
            return
        yield TriggerEvent({"status": "success", "message": f"{tidb.host}:{tidb.port} is ready"})

    def _tidb_section(self) -> TidbSection:
        """The connection settings, read through the hook (blocking: it may query the metadata DB)."""
        return TiDBHook(tidb_conn_id=self.tidb_conn_id).get_tidb_section()

"""What the Airflow-level tests need from Airflow, on both Airflow 3.x and Airflow 2.11.

Exceptions and ``Connection`` come through ``airflow.providers.common.compat.sdk``, as in the
provider itself; the rest (DagBag, XCom reads, ``dag.test()``'s date argument, the providers
manager a running task uses) moved in Airflow 3 and is picked here by version. Import this module
from test functions or test modules only: conftest.py must set Airflow's environment first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow import __version__ as AIRFLOW_VERSION
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    Connection,
    TaskDeferred,
)
from packaging.version import Version

AIRFLOW_V_3 = Version(Version(AIRFLOW_VERSION).base_version) >= Version("3.0.0")

if AIRFLOW_V_3:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk._shared.module_loading import import_string
else:
    from airflow.models.dagbag import DagBag
    from airflow.utils.module_loading import import_string

__all__ = [
    "AIRFLOW_V_3",
    "AIRFLOW_VERSION",
    "AirflowException",
    "AirflowFailException",
    "AirflowSensorTimeout",
    "Connection",
    "DagBag",
    "TaskDeferred",
    "import_string",
    "run_dag_test",
    "runtime_hooks",
    "xcom_return_value",
]


def run_dag_test(dag: Any, logical_date: datetime, run_conf: dict[str, Any] | None = None) -> Any:
    """``dag.test()`` for one logical date (Airflow 2 calls the argument ``execution_date``)."""
    if AIRFLOW_V_3:
        return dag.test(logical_date=logical_date, run_conf=run_conf)
    return dag.test(execution_date=logical_date, run_conf=run_conf)


def xcom_return_value(dag_run: Any, task_id: str, map_index: int = -1) -> Any:
    """The deserialised ``return_value`` XCom of one task instance of ``dag_run``."""
    from airflow.utils.session import create_session

    with create_session() as session:
        if AIRFLOW_V_3:
            from airflow.models.xcom import XComModel

            query = XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, map_indexes=map_index,
                key="return_value",
            )
            return XComModel.deserialize_value(session.scalars(query).one())
        from airflow.models.xcom import XCom

        return XCom.get_one(
            run_id=dag_run.run_id, dag_id=dag_run.dag_id, task_id=task_id, map_index=map_index,
            key="return_value", session=session,
        )


def runtime_hooks() -> Any:
    """The hooks map ``Connection.get_hook()`` reads inside a running task."""
    if AIRFLOW_V_3:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        return ProvidersManagerTaskRuntime().hooks
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager().hooks


def asset_events(dag_run: Any, task_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(asset URI, extra) of every asset event one task of ``dag_run`` emitted (dataset events on 2.11)."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    if AIRFLOW_V_3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Target

        target_id = Event.asset_id
    else:
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Target

        target_id = Event.dataset_id
    query = (
        select(Target.uri, Event.extra)
        .join(Target, Target.id == target_id)
        .where(Event.source_dag_id == dag_run.dag_id, Event.source_run_id == dag_run.run_id,
               Event.source_task_id == task_id)
    )
    with create_session() as session:
        return [(uri, dict(extra)) for uri, extra in session.execute(query)]

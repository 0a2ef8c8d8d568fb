"""What an import produced, in the two forms Airflow tells the world about: asset events and OpenLineage.

Both describe the same thing, the target tables one import wrote and the dump files it read, so
they are built from one :class:`ImportedTable` list. The names follow what
apache-airflow-providers-mysql registers, so that a DAG scheduled on a table refreshed here and a
lineage graph that also sees ``SQLExecuteQueryOperator`` on that table meet on the same names:

* asset URI ``mysql://host:port/database/table`` (the mysql provider's ``create_asset``);
* OpenLineage dataset namespace ``mysql://host:port``, name ``database.table``;
* OpenLineage input files: namespace ``file`` and the absolute path for a local dump, or
  ``s3://bucket`` and the key for an object store (OpenLineage's naming conventions).

Airflow, the mysql provider and OpenLineage are imported inside the functions: this module is
imported by the operator, and an import without lineage must not pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..lightning.common.connection import connect
from ..lightning.common.quoting import quote_table
from ..lightning.config.model import TaskConfig
from ..lightning.importer.summary import ImportSummary
from ..lightning.mydump.layout import DumpLayout


@dataclass(frozen=True)
class ImportedTable:
    """One target table of a finished import, with what lineage says about it."""

    database: str
    table: str
    rows: int  # rows this task instance wrote (0 for a table an earlier try had finished)
    bytes: int  # source bytes this task instance read for it
    files: tuple[str, ...]  # the dump's data files routed to it (paths or URLs)
    columns: tuple[tuple[str, str], ...]  # (name, column type) on the target, in order


def imported_tables(config: TaskConfig, layout: DumpLayout, summary: ImportSummary) -> list[ImportedTable]:
    """The summary's tables with their database and table names, source files and target columns.

    ``layout`` is the dump as the import discovered it; the columns are read from the target once,
    for every table in one query, right after the import.
    """
    files: dict[tuple[str, str], list[str]] = {}
    for source in layout.tables:
        if not source.is_view:
            files.setdefault((source.target_schema, source.target_table), []).extend(f.path for f in source.data_files)
    names = {quote_table(db, table): (db, table) for db, table in files}
    counted = [(names[t.table], t) for t in summary.tables if t.table in names]
    columns = _target_columns(config, {db for (db, _), _ in counted})
    return [
        ImportedTable(db, table, t.rows, t.bytes, tuple(files[(db, table)]), tuple(columns.get((db, table), ())))
        for (db, table), t in counted
    ]


def _target_columns(config: TaskConfig, databases: Iterable[str]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    wanted = sorted(databases)
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    with closing(connect(config.tidb)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS"
            f" WHERE TABLE_SCHEMA IN ({marks}) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION",
            wanted,
        )
        for db, table, column, column_type in cur.fetchall():
            found.setdefault((db, table), []).append((column, column_type))
    return found


def table_asset(host: str, port: int, table: ImportedTable) -> Any:
    """The table as the mysql provider's asset (``Dataset`` on Airflow 2.11)."""
    from airflow.providers.mysql.assets.mysql import create_asset

    return create_asset(host=host, port=port, database=table.database, table=table.table)


def ensure_alias_registered(name: str) -> None:
    """Airflow 2.11 only: make sure the ``DatasetAlias`` row exists before events go through it.

    The DAG processor creates it when it parses the DAG; a run before that (``airflow dags test`` of
    a new DAG) would otherwise fail the task after its import, on a None in ``DatasetModel.aliases``.
    Airflow 3 creates what it misses itself.
    """
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        return
    from airflow.models.dataset import DatasetAliasModel  # type: ignore[import-not-found,unused-ignore]  # 2.x only
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    try:
        with create_session() as session:
            if session.scalar(select(DatasetAliasModel.id).where(DatasetAliasModel.name == name)) is None:
                session.add(DatasetAliasModel(name=name))
    except IntegrityError:  # another task (a mapped sibling) created it at the same moment
        pass


def asset_event_extra(table: ImportedTable) -> dict[str, Any]:
    """What a downstream DAG can read from the event without querying the table."""
    return {"rows": table.rows, "bytes": table.bytes}


_OPENLINEAGE_SCHEMES = {"gcs": "gs"}  # OpenLineage names Google Cloud Storage gs://


def file_dataset_name(path: str, source_dir: str) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a dump file: ``file`` + absolute path, or ``scheme://bucket`` + key.

    ``source_dir`` is the dump's ``data-source-dir``; an object storage source lists its files as
    ``bucket/key`` (fsspec's form), which its URL's scheme completes.
    """
    scheme = urlsplit(source_dir).scheme
    if scheme and scheme != "file":
        bucket, _, key = path.partition("/")
        return f"{_OPENLINEAGE_SCHEMES.get(scheme, scheme)}://{bucket}", key
    return "file", os.path.abspath(path)


def openlineage_datasets(namespace: str, tables: list[ImportedTable], source_dir: str) -> tuple[list[Any], list[Any]]:
    """(inputs, outputs): one input per dump file, one output per target table with schema and statistics.

    ``namespace`` is the target's ``mysql://host:port``; ``source_dir`` the dump's ``data-source-dir``.
    """
    from airflow.providers.common.compat.openlineage.facet import (
        Dataset,
        OutputDataset,
        OutputStatisticsOutputDatasetFacet,
        SchemaDatasetFacet,
        SchemaDatasetFacetFields,
    )

    seen: dict[tuple[str, str], Any] = {}
    outputs = []
    for table in tables:
        for path in table.files:
            name = file_dataset_name(path, source_dir)
            seen.setdefault(name, Dataset(namespace=name[0], name=name[1]))
        outputs.append(
            OutputDataset(
                namespace=namespace,
                name=f"{table.database}.{table.table}",
                facets={
                    "schema": SchemaDatasetFacet(
                        fields=[SchemaDatasetFacetFields(name=c, type=t) for c, t in table.columns]
                    )
                },
                outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=table.rows,
                                                                                    size=table.bytes)},
            )
        )
    return list(seen.values()), outputs

"""Credentials for an object storage dump from an Airflow connection, through Airflow's own object storage.

The engine opens ``s3://`` / ``gcs://`` / ``azure://`` sources with fsspec and never imports
Airflow; with ``source_conn_id`` the operator and the dump sensor hand it a filesystem that
Airflow's ``ObjectStoragePath`` built from the connection (``aws_default``,
``google_cloud_default``, ``wasb_default``...), so keys stay in Airflow's connection store and
out of the URL, the task's rendered fields and its logs. The connection's provider supplies the
filesystem: ``apache-airflow-providers-amazon`` for S3 (an ``endpoint_url`` in the connection's
extra reaches S3-compatible stores such as MinIO), ``-google`` for GCS, ``-microsoft-azure`` for Azure.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..lightning.config.storage_url import is_remote, parse_storage_url
from ..lightning.errors import ConfigError

# Airflow's object storage names the services by fsspec's protocols.
_PROTOCOLS = {"s3": "s3", "gcs": "gs", "azure": "abfs"}


def _object_storage_path() -> Any:
    """``ObjectStoragePath``: Airflow 3 (common-compat's sdk, or the task SDK), then Airflow 2.8+'s ``airflow.io``."""
    for module in ("airflow.providers.common.compat.sdk", "airflow.sdk", "airflow.io.path"):
        try:
            return importlib.import_module(module).ObjectStoragePath
        except (ImportError, AttributeError):
            continue
    raise ConfigError("source_conn_id needs Airflow's ObjectStoragePath (Airflow 2.8 or later)",
                      key="mydumper.data-source-dir")


def source_filesystem(source: str, conn_id: str | None) -> Any | None:
    """The fsspec filesystem for the remote ``source`` with the credentials of ``conn_id``; None without one.

    A local ``source`` with a ``conn_id`` is a mistake that waiting or retrying cannot fix: ConfigError.
    """
    if not conn_id:
        return None
    if not is_remote(source):
        raise ConfigError(f"source_conn_id {conn_id!r} is set but the source {source!r} is a local path, not an "
                          "s3://, gcs:// or azure:// URL", key="mydumper.data-source-dir")
    url = parse_storage_url(source)
    path = _object_storage_path()(f"{_PROTOCOLS[url.service]}://{url.bucket}/{url.prefix}", conn_id=conn_id)
    return path.fs

"""The task configuration as one typed structure, with tidb-lightning's defaults.

Field names are the TOML keys with ``-`` turned into ``_``; sections are nested dataclasses
(``[tikv-importer]`` is ``TaskConfig.tikv_importer``). Loading, validation and the ``adjust``
step that fills derived values live in :mod:`.load`; this module only declares the shape, so
every stage of the engine can import it without pulling in the loader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from .charsets import Charset

DEFAULT_FILTER: tuple[str, ...] = (
    "*.*",
    "!mysql.*",
    "!sys.*",
    "!INFORMATION_SCHEMA.*",
    "!PERFORMANCE_SCHEMA.*",
    "!METRICS_SCHEMA.*",
    "!INSPECTION_SCHEMA.*",
)

BACKENDS_OF_TIDB_LIGHTNING: tuple[str, ...] = ("tidb", "local", "importer")
SUPPORTED_BACKENDS: tuple[str, ...] = ("tidb",)


class OnDuplicate(StrEnum):
    """What a duplicate key does (``tikv-importer.on-duplicate`` / ``conflict.strategy``): the TiDB
    backend writes ``INSERT``, ``REPLACE`` or ``INSERT IGNORE`` accordingly."""

    ERROR = "error"
    REPLACE = "replace"
    IGNORE = "ignore"


class LogicalImportMethod(StrEnum):
    """How the TiDB backend sends rows (``tikv-importer.logical-import-method``): ``INSERT`` statements
    (tidb-lightning's way, the default), or ``LOAD DATA LOCAL INFILE`` streams for CSV sources."""

    INSERT = "insert"
    LOAD_DATA = "load-data"


DEFAULT_BATCH_SIZE = {LogicalImportMethod.INSERT: 96 * 1024, LogicalImportMethod.LOAD_DATA: 2 << 20}
"""``logical-import-batch-size`` when the task does not set it. INSERT keeps tidb-lightning's 96 KiB. A
LOAD DATA stream is not a statement the server parses whole, and each batch costs a transaction, a
checkpoint update and a COMMIT: 4 MiB batches loaded the TPC-H ``.tbl`` benchmark 4-11 % faster than
1 MiB, 2 MiB 0-4 % slower than 4 MiB. 2 MiB keeps the peak RSS flat from SF 0.1 to SF 1 (with 4 MiB
it grew 71 -> 85 MB: glibc keeps freed buffers of that size in its arenas)."""


class TLSMode(StrEnum):
    """tidb-lightning's ``tidb.tls``. Declared with the config rather than in ``common.connection`` (which
    applies it) because the loader validates it and config sits below common in the import order."""

    DEFAULT = ""  # TLS only when certificates are given; a CA given means verify the chain
    FALSE = "false"
    PREFERRED = "preferred"
    SKIP_VERIFY = "skip-verify"
    CLUSTER = "cluster"


class CheckpointDriver(StrEnum):
    FILE = "file"
    MYSQL = "mysql"


class SourceFingerprint(StrEnum):
    """``checkpoint.source-fingerprint``: what a resume compares of each data file besides its path and size."""

    SIZE = "size"  # nothing more: for copies whose times change on every copy
    MTIME = "mtime"  # the modification time too: catches an edit that kept the size
    CONTENT = "content"  # a SHA-256 of the bytes: catches any edit, at the cost of reading the dump once more


class KeepAfterSuccess(StrEnum):
    """``checkpoint.keep-after-success``: what happens to a finished task's checkpoint."""

    REMOVE = "remove"
    RENAME = "rename"
    ORIGIN = "origin"


@dataclass
class MaxError:
    """Error budget per kind, as tidb-lightning's ``[lightning.max-error]`` (an int sets ``type``).

    tidb-lightning's deprecated ``max-error.conflict`` has no field: the conflict budget is
    ``[conflict] threshold``, and the loader warns when a task file still sets it.
    """

    syntax: int = 0
    charset: int = 0
    type: int = 0


@dataclass
class LightningSection:
    level: str = "info"
    file: str = ""
    region_concurrency: int = field(default_factory=lambda: max(os.cpu_count() or 1, 1))
    table_concurrency: int = 6
    max_error: MaxError = field(default_factory=MaxError)
    task_info_schema_name: str = "lightning_task_info"
    check_requirements: bool = True  # run importer/precheck.py before anything is written
    status_addr: str = ""  # "host:port" (or ":port") of the /metrics and /progress/task endpoint; "" = none


@dataclass
class CheckpointSection:
    enable: bool = True
    schema: str = "tidb_lightning_checkpoint"
    driver: CheckpointDriver = CheckpointDriver.FILE
    dsn: str = ""  # file driver: path; mysql driver: "" = the target [tidb]
    keep_after_success: KeepAfterSuccess = KeepAfterSuccess.REMOVE
    source_fingerprint: SourceFingerprint = SourceFingerprint.MTIME
    shared: bool = False  # several processes of one task id share the import (claims and leases; mysql only)
    lease_seconds: int = 30  # shared: a claimed chunk returns to the others this long after its worker's last sign


@dataclass
class TikvImporterSection:
    backend: str = "tidb"
    on_duplicate: OnDuplicate = OnDuplicate.REPLACE
    logical_import_batch_size: int = 0  # 0 until adjusted: by method (see DEFAULT_BATCH_SIZE)
    logical_import_batch_rows: int = 65536
    logical_import_method: LogicalImportMethod = LogicalImportMethod.INSERT


@dataclass
class ConflictSection:
    strategy: OnDuplicate | Literal[""] = ""  # "" = follow tikv-importer.on-duplicate
    threshold: int = 10000
    max_record_rows: int = 10000


@dataclass
class CSVSection:
    separator: str = ","
    delimiter: str = '"'
    terminator: str = ""  # "" = \n, \r or \r\n
    null: tuple[str, ...] = ("\\N",)
    header: bool = True
    header_schema_match: bool = True
    not_null: bool = False
    backslash_escape: bool = True
    trim_last_separator: bool = False


@dataclass
class FileRule:
    """One ``[[mydumper.files]]`` rule: a regex over the path relative to the source dir.

    ``schema``/``table``/``key`` are templates using ``$1`` or ``${name}`` groups;
    ``type`` is one of schema-schema, table-schema, view-schema, sql, csv, ignore;
    ``compression`` is "", "gz"/"gzip", "zst"/"zstd" or "auto".
    """

    pattern: str
    schema: str = ""
    table: str = ""
    type: str = ""
    key: str = ""
    compression: str = ""


@dataclass(frozen=True)
class TableName:
    """One ``{db-name, tbl-name}`` entry of ``[black-white-list]`` ``do-tables`` / ``ignore-tables``."""

    db_name: str
    tbl_name: str


@dataclass
class BlackWhiteList:
    """tidb-lightning's deprecated ``[black-white-list]`` (MySQL replication rules), still read with a warning.

    Kept on :class:`MydumperSection` because discovery, which filters tables, receives that section.
    """

    do_dbs: tuple[str, ...] = ()
    do_tables: tuple[TableName, ...] = ()
    ignore_dbs: tuple[str, ...] = ()
    ignore_tables: tuple[TableName, ...] = ()

    @property
    def defined(self) -> bool:
        return bool(self.do_dbs or self.do_tables or self.ignore_dbs or self.ignore_tables)


@dataclass
class MydumperSection:
    """``[mydumper]``."""

    data_source_dir: str = ""
    character_set: Charset = Charset.AUTO  # of the schema files (mydump/schema_charset.py)
    data_character_set: Charset = Charset.BINARY
    data_invalid_char_replace: str = "\ufffd"  # for CSV data decoded from gbk / gb18030 / latin1
    case_sensitive: bool = False
    strict_format: bool = False
    max_region_size: int = 256 * 1024 * 1024
    read_block_size: int = 64 * 1024
    filter: tuple[str, ...] = DEFAULT_FILTER
    no_schema: bool = False
    default_file_rules: bool = True
    csv: CSVSection = field(default_factory=CSVSection)
    files: list[FileRule] = field(default_factory=list)
    black_white_list: BlackWhiteList = field(default_factory=BlackWhiteList)


@dataclass
class Route:
    schema_pattern: str
    table_pattern: str = ""
    target_schema: str = ""
    target_table: str = ""


@dataclass
class TidbSection:
    """The target server.

    ``status_port`` is read by the Airflow readiness check only (the import itself speaks SQL), and
    comes from the Airflow connection there; a task file's ``tidb.status-port`` is warned about.
    """

    host: str = "127.0.0.1"
    port: int = 4000
    user: str = "root"
    password: str = field(default="", repr=False)
    status_port: int = 10080
    sql_mode: str = "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"
    tls: TLSMode = TLSMode.DEFAULT
    ca_path: str = ""
    cert_path: str = ""
    key_path: str = ""
    max_allowed_packet: int = 64 * 1024 * 1024
    charset: str = "utf8mb4"
    connect_timeout: float = 10.0
    read_timeout: float | None = None
    session_vars: dict[str, str | int] = field(default_factory=dict)


class RefreshMode(StrEnum):
    """``[refresh] mode``: load into the live tables (``none``) or into shadow tables swapped in at the end."""

    NONE = "none"
    SWAP = "swap"


@dataclass
class RefreshSection:
    """``[refresh]``: a full refresh that replaces each table whole, atomically (see docs/refresh.md)."""

    mode: RefreshMode = RefreshMode.NONE
    verify: bool = True  # compare row counts before the swap
    allow_empty: bool = False  # let an empty load replace a populated live table
    keep_old: int = 0  # replaced tables kept under dated names, newest first


@dataclass
class TaskConfig:
    lightning: LightningSection = field(default_factory=LightningSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    tikv_importer: TikvImporterSection = field(default_factory=TikvImporterSection)
    conflict: ConflictSection = field(default_factory=ConflictSection)
    mydumper: MydumperSection = field(default_factory=MydumperSection)
    routes: list[Route] = field(default_factory=list)
    tidb: TidbSection = field(default_factory=TidbSection)
    refresh: RefreshSection = field(default_factory=RefreshSection)
    source: str = "<defaults>"  # where the config came from, for error messages

    @property
    def duplicate_mode(self) -> OnDuplicate:
        """The effective conflict mode: ``[conflict] strategy`` wins over ``on-duplicate``."""
        return self.conflict.strategy or self.tikv_importer.on_duplicate

    @property
    def statement_mode(self) -> OnDuplicate:
        """The verb the TiDB backend writes: the duplicate mode's, except that ``ignore`` with conflicts to
        record (``max-record-rows`` > 0) sends a plain ``INSERT``, so that a batch holding a duplicate fails,
        is sent again row by row, and each duplicate is recorded and counted (tidb-lightning does the same)."""
        mode = self.duplicate_mode
        if mode is OnDuplicate.IGNORE and self.conflict.strategy and self.conflict.max_record_rows > 0:
            return OnDuplicate.ERROR
        return mode

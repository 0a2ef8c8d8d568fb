"""``[lightning] check-requirements``: everything that would stop the import, found before it writes anything.

tidb-lightning runs pre-checks before an import (for the TiDB backend: the target's version, the
source, the checkpoints); a logical import also needs privileges on every schema it writes and rows
that fit in one statement. Each check adds to one list, so the user reads every problem in one
message and fixes them in one go, rather than one failed run per problem. Warnings (an import that
will work but slowly, a check that cannot decide) are logged and do not stop it.

Nothing here writes: the target is only read (``SHOW GRANTS``, ``information_schema``), and the
checkpoint store is opened only when its schema or file already exists, since opening the MySQL
store creates its schema.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import pymysql

from ..checkpoints import open_store
from ..checkpoints.file_store import DEFAULT_PATH
from ..common.connection import connect
from ..common.server_info import detect_server
from ..config.model import TaskConfig
from ..config.storage_url import is_remote
from ..errors import CheckpointError, LightningError, RequirementsNotMet
from .file_facts import FileFactsCache
from .plan import Plan, check_resumable
from .privileges import Grants, read_grants
from .sample import TableSample, sample_tables

# tidb-lightning's own floor for the cluster it imports into (its check-requirements since 2.1.2).
MIN_TIDB_VERSION = (2, 1, 0)
_PACKET_SLACK = 1024  # the statement's prefix and the packet header, as the importer reserves


@dataclass
class Findings:
    """What the checks found; ``samples`` is kept for the dry run's estimate."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    server: str = ""
    samples: list[TableSample] = field(default_factory=list)
    checkpoint_error: CheckpointError | None = None
    connect_error: pymysql.MySQLError | None = None

    def raise_if_any(self, task_id: str) -> None:
        """One line for every problem, numbered.

        A problem that has its own error and is the only one keeps it, with the remedy its message
        already gives: a checkpoint mismatch, or a target that cannot be reached (whose one line
        :mod:`.failures` writes).
        """
        alone = self.problems[0] if len(self.problems) == 1 else None
        if alone is not None and self.checkpoint_error is not None and alone == str(self.checkpoint_error):
            raise self.checkpoint_error
        if alone is not None and self.connect_error is not None:
            raise self.connect_error
        if self.problems:
            listed = "; ".join(f"({n}) {problem}" for n, problem in enumerate(self.problems, 1))
            raise RequirementsNotMet(
                f"task {task_id}: {len(self.problems)} pre-check(s) failed, nothing was written: {listed}. "
                "Fix them and run again ([lightning] check-requirements = false skips the checks)",
                problems=self.problems,
            )


def check_requirements(config: TaskConfig, plan: Plan, task_id: str, log: logging.Logger) -> Findings:
    """Run every check, log the warnings, and raise :class:`RequirementsNotMet` listing every problem."""
    findings = run_checks(config, plan, task_id)
    for warning in findings.warnings:
        log.warning("pre-check: %s", warning)
    findings.raise_if_any(task_id)
    log.info("pre-checks passed (%s)", findings.server or "target not reached")
    return findings


def run_checks(config: TaskConfig, plan: Plan, task_id: str) -> Findings:
    """Every check, without raising: the dry run reports the findings, the import raises on them."""
    findings = Findings()
    _check_source(config, plan, findings)
    try:
        conn = connect(config.tidb)
    except pymysql.MySQLError as exc:
        findings.connect_error = exc
        findings.problems.append(f"cannot connect to the target {config.tidb.host}:{config.tidb.port} as "
                                 f"{config.tidb.user!r}: {exc.args[-1] if exc.args else exc}")
        return findings
    with closing(conn), conn.cursor() as cur:
        info = detect_server(conn)
        findings.server = str(info)
        if info.flavour == "tidb" and info.version_tuple < MIN_TIDB_VERSION:
            findings.problems.append(f"the target is {info}; the TiDB backend needs TiDB "
                                     f"{'.'.join(map(str, MIN_TIDB_VERSION))} or later")
        existing = _existing_tables(cur, {job.schema for job in plan.tables} | {v.target_schema for v in plan.views})
        _check_privileges(config, plan, read_grants(cur), existing, _existing_schemas(cur, config), findings)
        columns = _target_columns(cur, plan, existing)
        _check_csv_headers(config, plan, columns, findings)
        _check_largest_row(config, plan, columns, cur, findings)
        checkpoint_exists = _checkpoint_exists(cur, config)
    _check_checkpoint(config, plan, task_id, checkpoint_exists, findings)
    return findings


# --- source ----------------------------------------------------------------------------------------


def _check_source(config: TaskConfig, plan: Plan, findings: Findings) -> None:
    source = config.mydumper.data_source_dir
    if not plan.tables and not plan.views:
        findings.problems.append(f"the source {source} holds no table to import (check mydumper.filter and the "
                                 "file names)")
        return
    files = [f for job in plan.tables for s in job.sources for f in s.data_files]
    local = not is_remote(source)  # an object store's listing already proved its objects readable
    unreadable = [f.relative for f in files if local and not os.access(f.path, os.R_OK)]
    if unreadable:
        findings.problems.append(f"cannot read {len(unreadable)} data file(s) of {source}: "
                                 f"{', '.join(unreadable[:5])}{' ...' if len(unreadable) > 5 else ''}")
    if files and sum(f.size for f in files) == 0:
        findings.problems.append(f"every data file of {source} is empty")
    if not config.mydumper.strict_format:
        for f in files:
            if f.format == "csv" and not f.compression and f.size > config.mydumper.max_region_size:
                findings.warnings.append(
                    f"{f.relative} is {f.size / 2**20:.0f} MiB of CSV and mydumper.strict-format is off: it is "
                    "imported as one chunk by one writer. Set strict-format = true if no quoted field holds a "
                    "line break, so it splits at mydumper.max-region-size")


# --- target ----------------------------------------------------------------------------------------


def _existing_tables(cur: Any, databases: Iterable[str]) -> set[tuple[str, str]]:
    wanted = sorted(databases)
    if not wanted:
        return set()
    cur.execute("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA IN "
                f"({', '.join(['%s'] * len(wanted))})", wanted)
    return {(str(db), str(table)) for db, table in cur.fetchall()}


def _existing_schemas(cur: Any, config: TaskConfig) -> set[str]:
    cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    return {str(name) for (name,) in cur.fetchall()}


def _check_privileges(config: TaskConfig, plan: Plan, grants: Grants, existing: set[tuple[str, str]],
                      schemas: set[str], findings: Findings) -> None:
    """The privileges each statement the import sends needs, on the schema it sends it to."""
    needed: dict[str, set[str]] = {}  # "`db`" or "`db`.`table`" -> privileges

    def need(privilege: str, database: str, table: str | None = None) -> None:
        if not grants.allows(privilege, database, table):
            where = f"`{database}`.`{table}`" if table else f"`{database}`"
            needed.setdefault(where, set()).add(privilege)

    verbs = ["INSERT", "DELETE"] if config.duplicate_mode == "replace" else ["INSERT"]
    for job in plan.tables:
        if (job.schema, job.table) not in existing and not config.mydumper.no_schema:
            need("CREATE", job.schema, job.table)
        for verb in verbs:
            need(verb, job.schema, job.table)
    if plan.views and not config.mydumper.no_schema:
        for view in plan.views:
            need("CREATE VIEW", view.target_schema, view.target_table)
    service = [config.lightning.task_info_schema_name]
    if config.checkpoint.enable and config.checkpoint.driver == "mysql":
        service.append(config.checkpoint.schema)
    for schema in service:
        if schema not in schemas:
            need("CREATE", schema)
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            if schema == config.lightning.task_info_schema_name and privilege in ("UPDATE", "DELETE"):
                continue
            need(privilege, schema)
    if not needed:
        return
    by_privileges: dict[str, list[str]] = {}  # the same missing privileges on many tables: said once
    for where, privileges in sorted(needed.items()):
        by_privileges.setdefault(", ".join(sorted(privileges)), []).append(where)
    missing = "; ".join(f"{privileges} on {', '.join(places)}" for privileges, places in by_privileges.items())
    message = f"user {config.tidb.user!r} lacks privileges the import needs: {missing}"
    if grants.has_roles:
        findings.warnings.append(message + " (unless one of the user's roles grants them)")
    else:
        findings.problems.append(message + ". GRANT them, or import as another user")


def _target_columns(cur: Any, plan: Plan, existing: set[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """`db`.`tbl` -> [(column, data type)] of the target tables that exist already."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for job in plan.tables:
        if (job.schema, job.table) in existing:
            cur.execute("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                        "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (job.schema, job.table))
            columns[job.key] = [(str(name), str(kind)) for name, kind in cur.fetchall()]
    return columns


def _check_csv_headers(config: TaskConfig, plan: Plan, columns: dict[str, list[tuple[str, str]]],
                       findings: Findings) -> None:
    """A CSV header naming a column the existing target lacks fails every row of the file."""
    csv = config.mydumper.csv
    if not (csv.header and csv.header_schema_match):
        return
    facts = FileFactsCache(config)
    for job in plan.tables:
        if job.key not in columns:
            continue  # created by the import from its schema file, which the import checks then
        known = {name.lower() for name, _ in columns[job.key]}
        for source in job.sources:
            for data_file in source.data_files:
                if data_file.format != "csv":
                    continue
                try:
                    header = facts.get(data_file).columns or ()
                except LightningError as exc:
                    findings.problems.append(str(exc))
                    continue
                unknown = [name for name in header if name.lower() not in known]
                if unknown:
                    findings.problems.append(f"{data_file.relative}: the CSV header names column(s) "
                                             f"{', '.join(unknown)} that {job.key} does not have")


def _check_largest_row(config: TaskConfig, plan: Plan, columns: dict[str, list[tuple[str, str]]], cur: Any,
                       findings: Findings) -> None:
    cur.execute("SELECT @@max_allowed_packet")
    server_packet = int(cur.fetchone()[0])
    limit = min(server_packet, int(config.tidb.max_allowed_packet)) - _PACKET_SLACK
    try:
        findings.samples = sample_tables(config, plan, columns)
    except LightningError as exc:  # a bad row may be within the error budget (max-error): the import decides
        findings.warnings.append(f"reading a sample of the source stopped at a bad row: {exc}")
        return
    for sample in findings.samples:
        if sample.largest_row > limit:
            findings.problems.append(
                f"{sample.largest_row_path} at byte offset {sample.largest_row_offset}: a row of "
                f"{sample.largest_row} bytes for {sample.table} does not fit in one statement "
                f"(max_allowed_packet {server_packet}, tidb.max-allowed-packet {config.tidb.max_allowed_packet}); "
                "raise the server's max_allowed_packet")


# --- checkpoint ------------------------------------------------------------------------------------


def _checkpoint_exists(cur: Any, config: TaskConfig) -> bool:
    checkpoint = config.checkpoint
    if not checkpoint.enable:
        return False
    if checkpoint.driver == "mysql":
        cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (checkpoint.schema,))
        return cur.fetchone() is not None
    return os.path.exists(checkpoint.dsn or DEFAULT_PATH)


def _check_checkpoint(config: TaskConfig, plan: Plan, task_id: str, exists: bool, findings: Findings) -> None:
    """A saved checkpoint of this task must match the source now, else resuming would skip or double rows."""
    if not exists:
        return
    store = open_store(config.checkpoint, lambda: connect(config.tidb))
    try:
        saved = store.load(task_id)
        if saved is not None:
            check_resumable(saved, plan, plan.new_checkpoint(task_id))
    except CheckpointError as exc:
        findings.checkpoint_error = exc
        findings.problems.append(str(exc))
    except (pymysql.MySQLError, OSError) as exc:
        findings.problems.append(f"cannot read the checkpoint of task {task_id}: {exc}")
    finally:
        store.close()
